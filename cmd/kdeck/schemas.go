package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/ops"
)

// schemaService returns the service's Schema Registry operations (an
// optional interface of ops.Service). Attached to a worker, the worker
// runs them (its registry, its audit log).
func (a *app) schemaService(ctx context.Context) (ops.SchemaService, error) {
	svc, err := a.service(ctx)
	if err != nil {
		return nil, err
	}
	ss, ok := svc.(ops.SchemaService)
	if !ok {
		return nil, errors.New("this service does not reach a schema registry: run the command with a configuration that has one, or pass --registry")
	}
	return ss, nil
}

// completeSubjects completes a subject name from the registry.
func (a *app) completeSubjects(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return a.completeNames(cmd, args, func(ctx context.Context, svc ops.Service) ([]string, error) {
		ss, ok := svc.(ops.SchemaService)
		if !ok {
			return nil, errors.New("no schema service")
		}
		subs, err := ss.ListSubjects(ctx, "")
		names := make([]string, 0, len(subs))
		for _, s := range subs {
			names = append(names, s.Subject)
		}
		return names, err
	})
}

// readSchemaFile reads a schema file and infers its format from the
// extension (.avsc avro, .proto protobuf, .json json-schema) unless given.
func readSchemaFile(path, format string) (ops.SchemaRequest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return ops.SchemaRequest{}, usagef("cannot read schema file %s: %v", path, err)
	}
	if format == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".proto":
			format = "protobuf"
		case ".json":
			format = "json-schema"
		default:
			format = "avro"
		}
	}
	return ops.SchemaRequest{Format: format, Schema: string(b)}, nil
}

// schemaFileRequest reads --file for a subject and returns the schema
// service with the request; verb says what the file is for.
func (a *app) schemaFileRequest(cmd *cobra.Command, file, format, subject, verb string) (ops.SchemaService, ops.SchemaRequest, error) {
	if file == "" {
		return nil, ops.SchemaRequest{}, usagef("--file is required: the schema to %s", verb)
	}
	req, err := readSchemaFile(file, format)
	if err != nil {
		return nil, req, err
	}
	req.Subject = subject
	ss, err := a.schemaService(cmd.Context())
	return ss, req, err
}

// parseSubjectVersion splits SUBJECT[:VERSION] (VERSION a number or latest).
func parseSubjectVersion(s string) (string, int, error) {
	subject, v, ok := strings.Cut(s, ":")
	if subject == "" {
		return "", 0, usagef("--schema %q names no subject: give SUBJECT[:VERSION]", s)
	}
	if !ok || v == "latest" {
		return subject, 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return "", 0, usagef("--schema %q: version %q is not a positive number or latest", s, v)
	}
	return subject, n, nil
}

func newSchemasCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "schemas",
		Aliases: []string{"schema"},
		Short:   "List, show, check, register and delete Schema Registry subjects",
		Long: `Work with the cluster's Schema Registry ([clusters.NAME.schema_registry], or
--registry URL; 'kdeck dev' serves one on 127.0.0.1:8081).`,
		Args: cobra.NoArgs,
	}
	subs := []*cobra.Command{a.schemasShowCmd(), a.schemasVersionsCmd(), a.schemasCheckCmd(), a.schemasRegisterCmd(), a.schemasCompatibilityCmd(), a.schemasDeleteCmd()}
	for _, c := range subs {
		c.ValidArgsFunction = a.completeSubjects
	}
	cmd.AddCommand(append([]*cobra.Command{a.schemasListCmd()}, subs...)...)
	return cmd
}

// schemasListCmd is 'schemas list'.
func (a *app) schemasListCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List subjects with their latest version, schema id and format",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ss, err := a.schemaService(cmd.Context())
			if err != nil {
				return err
			}
			subs, err := ss.ListSubjects(cmd.Context(), "")
			if err != nil {
				return err
			}
			return a.emit(subs, func(w io.Writer) {
				t := newTable("SUBJECT", "VERSION", "VERSIONS", "ID", "FORMAT", "ERROR").Right(1, 2, 3).Flex(0, 5)
				for _, s := range subs {
					t.Row(s.Subject, s.LatestVersion, s.Versions, s.SchemaID, s.Format, s.Error)
				}
				t.Write(w)
			})
		},
	}
	return list
}

// schemasShowCmd is 'schemas show SUBJECT'.
func (a *app) schemasShowCmd() *cobra.Command {
	var version int
	show := &cobra.Command{
		Use:   "show SUBJECT",
		Short: "Show a subject's schema (latest, or --version N) with its versions and topics",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ss, err := a.schemaService(cmd.Context())
			if err != nil {
				return err
			}
			d, err := ss.Subject(cmd.Context(), "", args[0])
			if err != nil {
				return err
			}
			si := d.Latest
			if version > 0 {
				if si, err = ss.SchemaVersion(cmd.Context(), "", args[0], version); err != nil {
					return err
				}
			}
			out := struct {
				ops.SchemaInfo
				Versions      []int    `json:"versions"`
				Compatibility string   `json:"compatibility"`
				Topics        []string `json:"topics"`
			}{si, d.Versions, d.Compatibility, d.Topics}
			return a.emit(out, func(w io.Writer) {
				fmt.Fprintf(w, "subject %s  version %d  id %d  %s  compatibility %s\n", si.Subject, si.Version, si.ID, si.Format, d.Compatibility)
				fmt.Fprintf(w, "versions: %s\n", strings.Trim(fmt.Sprint(d.Versions), "[]"))
				if len(d.Topics) > 0 {
					fmt.Fprintf(w, "topics: %s\n", strings.Join(d.Topics, ", "))
				}
				for _, r := range si.References {
					fmt.Fprintf(w, "reference %s: %s version %d\n", r.Name, r.Subject, r.Version)
				}
				fmt.Fprintln(w, si.Schema)
			})
		},
	}
	show.Flags().IntVar(&version, "version", 0, "show this version (default: latest)")
	return show
}

// schemasVersionsCmd is 'schemas versions SUBJECT'.
func (a *app) schemasVersionsCmd() *cobra.Command {
	versions := &cobra.Command{
		Use:   "versions SUBJECT",
		Short: "List a subject's versions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ss, err := a.schemaService(cmd.Context())
			if err != nil {
				return err
			}
			d, err := ss.Subject(cmd.Context(), "", args[0])
			if err != nil {
				return err
			}
			var infos []ops.SchemaInfo
			for _, v := range d.Versions {
				si, err := ss.SchemaVersion(cmd.Context(), "", args[0], v)
				if err != nil {
					return err
				}
				infos = append(infos, si)
			}
			return a.emit(infos, func(w io.Writer) {
				t := newTable("VERSION", "ID", "FORMAT").Right(0, 1)
				for _, si := range infos {
					t.Row(si.Version, si.ID, si.Format)
				}
				t.Write(w)
			})
		},
	}
	return versions
}

// schemasCheckCmd is 'schemas check SUBJECT --file F': exit code 3 when incompatible.
func (a *app) schemasCheckCmd() *cobra.Command {
	var file, format string
	check := &cobra.Command{
		Use:   "check SUBJECT --file F",
		Short: "Check a schema file against the subject's compatibility level (changes nothing)",
		Long: `Check a schema file against the subject's configured compatibility level. The
format follows the file's extension (.avsc avro, .proto protobuf, .json
json-schema) unless --format says. Exit code 3 when it is incompatible.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ss, req, err := a.schemaFileRequest(cmd, file, format, args[0], "check")
			if err != nil {
				return err
			}
			res, err := ss.CheckSchema(cmd.Context(), "", req)
			if err != nil {
				return err
			}
			if err := a.emit(res, func(w io.Writer) {
				switch {
				case res.NewSubject:
					fmt.Fprintf(w, "compatible: subject %s has no versions yet\n", res.Subject)
				case res.Compatible:
					fmt.Fprintf(w, "compatible with subject %s under %s\n", res.Subject, res.Compatibility)
				default:
					fmt.Fprintf(w, "NOT compatible with subject %s under %s\n", res.Subject, res.Compatibility)
					for _, m := range res.Messages {
						fmt.Fprintln(w, "  "+m)
					}
				}
			}); err != nil {
				return err
			}
			if !res.Compatible {
				return &refusedError{fmt.Sprintf("the schema in %s is not compatible with subject %s under %s: keep the old fields' types and give new fields defaults, or change the level with 'kdeck schemas compatibility %s LEVEL'", file, res.Subject, res.Compatibility, res.Subject)}
			}
			return nil
		},
	}
	schemaFileFlags(check, &file, &format)
	return check
}

// schemasRegisterCmd is 'schemas register SUBJECT --file F'.
func (a *app) schemasRegisterCmd() *cobra.Command {
	var file, format string
	register := &cobra.Command{
		Use:   "register SUBJECT --file F",
		Short: "Register a schema file under a subject (audited; the same schema returns its id)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ss, req, err := a.schemaFileRequest(cmd, file, format, args[0], "register")
			if err != nil {
				return err
			}
			si, err := ss.RegisterSchema(cmd.Context(), "", req)
			if err != nil {
				return err
			}
			return a.emit(si, func(w io.Writer) {
				fmt.Fprintf(w, "subject %s version %d: schema id %d (%s)\n", si.Subject, si.Version, si.ID, si.Format)
			})
		},
	}
	schemaFileFlags(register, &file, &format)
	return register
}

// schemasCompatibilityCmd is 'schemas compatibility [SUBJECT [LEVEL]]'.
func (a *app) schemasCompatibilityCmd() *cobra.Command {
	compat := &cobra.Command{
		Use:   "compatibility [SUBJECT [LEVEL]]",
		Short: "Show or set a subject's (or, without SUBJECT, the global) compatibility level",
		Long: `Show a subject's compatibility level, or set it with LEVEL: NONE, BACKWARD,
BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE.
Use - as SUBJECT for the global level. Setting is audited.`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ss, err := a.schemaService(cmd.Context())
			if err != nil {
				return err
			}
			subject := ""
			if len(args) > 0 && args[0] != "-" {
				subject = args[0]
			}
			if len(args) == 2 {
				entry, err := ss.SetCompatibility(cmd.Context(), "", subject, args[1])
				if err != nil {
					return err
				}
				return a.emit(entry, func(w io.Writer) {
					fmt.Fprintf(w, "compatibility of %s: %s -> %s (audit %s)\n", orGlobal(subject), entry.Details["before"], entry.Details["after"], entry.ID)
				})
			}
			level, err := ss.Compatibility(cmd.Context(), "", subject)
			if err != nil {
				return err
			}
			return a.emit(map[string]string{"subject": subject, "compatibility": level}, func(w io.Writer) {
				fmt.Fprintf(w, "%s: %s\n", orGlobal(subject), level)
			})
		},
	}
	return compat
}

// schemasDeleteCmd is 'schemas delete SUBJECT': a preview without --execute.
func (a *app) schemasDeleteCmd() *cobra.Command {
	var version int
	var execute, permanent bool
	del := &cobra.Command{
		Use:   "delete SUBJECT",
		Short: "Delete a subject or one version (soft by default; previewed, audited)",
		Long: `Delete a subject, or one version with --version N. Without --execute the
versions that would go are printed and nothing changes. The delete is soft
(the registry keeps the schemas by id, so old records still decode);
--permanent hard-deletes versions that were soft-deleted before. Refused in
read-only mode.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ss, err := a.schemaService(cmd.Context())
			if err != nil {
				return err
			}
			plan, err := ss.PlanSchemaDelete(cmd.Context(), "", ops.SchemaDeleteRequest{Subject: args[0], Version: version, Permanent: permanent})
			if err != nil {
				return err
			}
			out := struct {
				Plan       ops.SchemaDeletePlan `json:"plan"`
				Executed   bool                 `json:"executed"`
				AuditEntry *ops.AuditEntry      `json:"audit_entry,omitempty"`
			}{Plan: plan}
			if execute {
				entry, err := ss.ExecuteSchemaDelete(cmd.Context(), plan)
				if err != nil {
					return err
				}
				out.Executed, out.AuditEntry = true, &entry
			}
			return a.emit(out, func(w io.Writer) {
				mode := "soft-delete"
				if permanent {
					mode = "permanently delete"
				}
				verb := "would " + mode
				if out.Executed {
					verb = "did " + mode
				}
				t := newTable("SUBJECT", "VERSION", "ID", "FORMAT").Right(1, 2)
				for _, v := range plan.Versions {
					t.Row(v.Subject, v.Version, v.ID, v.Format)
				}
				fmt.Fprintf(w, "%s %d version(s) of %s:\n", verb, len(plan.Versions), plan.Subject)
				t.Write(w)
				if len(plan.Topics) > 0 {
					fmt.Fprintf(w, "topics using it: %s\n", strings.Join(plan.Topics, ", "))
				}
				if out.Executed {
					fmt.Fprintf(w, "audit entry %s\n", out.AuditEntry.ID)
				} else {
					fmt.Fprintln(w, "nothing changed: run again with --execute to delete")
				}
			})
		},
	}
	del.Flags().IntVar(&version, "version", 0, "delete only this version")
	del.Flags().BoolVar(&execute, "execute", false, "delete (default: preview)")
	del.Flags().BoolVar(&permanent, "permanent", false, "hard-delete versions already soft-deleted")
	return del
}

// schemaFileFlags adds --file and --format, which check and register share.
func schemaFileFlags(c *cobra.Command, file, format *string) {
	c.Flags().StringVarP(file, "file", "f", "", "schema file (.avsc, .proto, .json)")
	c.Flags().StringVar(format, "format", "", "avro, protobuf or json-schema (default: from the file's extension)")
}

func orGlobal(subject string) string {
	if subject == "" {
		return "global"
	}
	return subject
}
