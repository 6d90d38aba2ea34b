package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/ops"
)

// nouns names the command of each job kind, for messages.
var nouns = map[ops.JobKind]string{ops.KindConnector: "connect", ops.KindMirror: "mirror", ops.KindStream: "streams"}

// jobsOfKind returns the jobs of one kind, in the service's order.
func (a *app) jobsOfKind(ctx context.Context, kind ops.JobKind) ([]ops.JobStatus, error) {
	svc, err := a.service(ctx)
	if err != nil {
		return nil, err
	}
	jobs, err := svc.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	out := []ops.JobStatus{}
	for _, j := range jobs {
		if j.Kind == kind {
			out = append(out, j)
		}
	}
	return out, nil
}

// jobOfKind returns the service and a job's status; a job of another kind
// is a usage error naming the command that handles it.
func (a *app) jobOfKind(ctx context.Context, name string, kind ops.JobKind) (ops.Service, ops.JobStatus, error) {
	svc, err := a.service(ctx)
	if err != nil {
		return nil, ops.JobStatus{}, err
	}
	j, err := svc.Job(ctx, name)
	if err != nil {
		return nil, j, err
	}
	if j.Kind != kind {
		return nil, j, usagef("job %q is a %s, not a %s: use 'kdeck %s ... %s'", j.Name, j.Kind, kind, nouns[j.Kind], j.Name)
	}
	return svc, j, nil
}

// jobVerb performs a lifecycle verb on a job of the given kind and prints
// the state change and its audit entry.
func (a *app) jobVerb(cmd *cobra.Command, name string, kind ops.JobKind, action ops.JobAction, opts ops.JobActionOptions) error {
	svc, _, err := a.jobOfKind(cmd.Context(), name, kind)
	if err != nil {
		return err
	}
	opts.Command = commandLine(cmd, []string{name})
	e, err := svc.JobAction(cmd.Context(), name, action, opts)
	if err != nil {
		return err
	}
	return a.emit(e, func(w io.Writer) {
		fmt.Fprintf(w, "%s %s: %s -> %s (audit %s)\n", action, name, e.Details["state_before"], e.Details["state_after"], e.ID)
	})
}

// verbDoc is the help of one lifecycle verb of a job kind.
type verbDoc struct {
	action ops.JobAction
	short  string
}

// jobVerbCmds builds 'VERB NAME' commands for jobs of one kind.
func (a *app) jobVerbCmds(kind ops.JobKind, complete cobra.CompletionFunc, verbs ...verbDoc) []*cobra.Command {
	cmds := make([]*cobra.Command, 0, len(verbs))
	for _, v := range verbs {
		cmds = append(cmds, &cobra.Command{
			Use:               string(v.action) + " NAME",
			Short:             v.short,
			Long:              v.short + "." + needsWorker,
			Args:              cobra.ExactArgs(1),
			ValidArgsFunction: complete,
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.jobVerb(cmd, args[0], kind, v.action, ops.JobActionOptions{})
			},
		})
	}
	return cmds
}
