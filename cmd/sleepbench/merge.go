package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/sleepbench/sleepbench/bench"
)

func init() {
	commands["merge"] = command{"check and join the output folders of a sharded run, then write tables, scores and plots", runMerge}
}

// runMerge joins shard folders with bench.MergeShards.
func runMerge(args []string) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	out := fs.String("out", "", "output folder (must not exist, or be empty)")
	partial := fs.Bool("allow-partial", false, "write the merged folder even when runs are missing (tables.md then lists them)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: sleepbench merge -out DIR [-allow-partial] SHARD_DIR...

Joins the output folders of the shards of one 'sleepbench run' (-shard i/n
or a scheduler's array index) into DIR, and writes there the config.json,
tables.md, scores.json, scores.arrow and plots that the unsharded command
would have written. It first checks that every shard was made with the same
schema version, backend and profile, that runs found in two shards agree,
and that no run of the profile is missing; a missing run is an error
(exit status 1) unless -allow-partial.

flags:`)
		fs.PrintDefaults()
	}
	dirs, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return fmt.Errorf("no output folder: give -out DIR")
	}
	if len(dirs) == 0 {
		fs.Usage()
		return fmt.Errorf("no shard folders given")
	}
	m, err := bench.MergeShards(*out, dirs, *partial)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "sleepbench merge: %d runs from %d shard folders into %s", m.Runs, m.Shards, *out)
	if m.Duplicates > 0 {
		fmt.Fprintf(os.Stderr, " (%d found in two folders, agreeing)", m.Duplicates)
	}
	fmt.Fprintln(os.Stderr)
	if len(m.Missing) > 0 {
		fmt.Fprintf(os.Stderr, "sleepbench merge: -allow-partial: %d runs missing (listed at the end of %s/tables.md):\n", len(m.Missing), *out)
		for _, name := range m.Missing {
			fmt.Fprintln(os.Stderr, "  "+name)
		}
	}
	return nil
}
