package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/sleepbench/sleepbench/methods"
)

func init() {
	commands["methods"] = command{"list the continual-learning methods with their default settings", runMethods}
}

// runMethods prints every registered method in table order: its name and
// summary, what it is compared with (baseline, compute-matched control,
// and its parent on the ladder with the one setting that differs), and
// its default settings (each settable as key=value in a method config).
func runMethods(args []string) error {
	fs := flag.NewFlagSet("methods", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sleepbench methods\n\nLists every registered method: name, summary, what it is compared with, default settings.")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (methods takes no arguments)", fs.Arg(0))
	}
	return writeMethods(os.Stdout, methods.Default)
}

func writeMethods(w io.Writer, reg *methods.Registry) error {
	var infos []methods.Info
	for _, name := range reg.Names() {
		info, err := reg.Lookup(name)
		if err != nil {
			return err
		}
		infos = append(infos, info)
	}
	sort.SliceStable(infos, func(i, j int) bool { return infos[i].Rank < infos[j].Rank })
	for _, info := range infos {
		fmt.Fprintf(w, "%s\n    %s\n", info.Name, info.Summary)
		var with []string
		if info.Baseline != "" {
			with = append(with, "baseline "+info.Baseline)
		}
		if info.Control != "" {
			with = append(with, "control "+info.Control)
		}
		if info.Parent != "" {
			parent, err := reg.Lookup(info.Parent)
			if err != nil {
				return fmt.Errorf("method %s: parent: %w", info.Name, err)
			}
			with = append(with, fmt.Sprintf("ladder: %s + %s", info.Parent, changed(parent.Defaults, info.Defaults)))
		}
		if len(with) > 0 {
			fmt.Fprintf(w, "    compared with: %s\n", strings.Join(with, "; "))
		}
		if info.Cost != "" {
			fmt.Fprintf(w, "    cost per step beside naive: %s\n", info.Cost)
		}
		fmt.Fprintf(w, "    settings: %s\n", methods.FormatDefaults(info.Defaults))
	}
	return nil
}

// changed lists the settings of b that differ from a, as key=value.
func changed(a, b map[string]string) string {
	var out []string
	for k, v := range b {
		if a[k] != v {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
