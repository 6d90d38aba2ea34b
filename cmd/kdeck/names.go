package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// nameFlags are the flags whose value names a group, topic or job; given,
// they must not be blank (replay --as "" would otherwise rewind the live
// group).
var nameFlags = []string{"as", "group", "to-group", "job"}

// checkNames refuses, as a usage error, a blank positional argument (every
// one names a topic, group, job, cluster or audit id) and a blank name flag.
func checkNames(cmd *cobra.Command, args []string) error {
	if strings.HasPrefix(cmd.Name(), "__") {
		return nil // shell completion: the word being completed may be empty
	}
	for i, arg := range args {
		if strings.TrimSpace(arg) == "" {
			return usagef("argument %d of '%s' is empty: give a name (see '%s --help')", i+1, cmd.CommandPath(), cmd.CommandPath())
		}
	}
	for _, n := range nameFlags {
		f := cmd.Flags().Lookup(n)
		if f == nil || !f.Changed || f.Value.Type() != "string" {
			continue
		}
		if strings.TrimSpace(f.Value.String()) == "" {
			return usagef("--%s is empty: give a name, or leave the flag out", n)
		}
	}
	return nil
}
