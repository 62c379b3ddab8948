// Command sleepbench is the one CLI of the harness: it lists models and
// methods, builds and inspects datasets, runs experiments, renders tables
// and plots, and compares scores against a reference for CI.
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/sleepbench/sleepbench/models/gemm"
)

// command is one subcommand; each lives in its own file and adds itself
// to commands in an init function.
type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: sleepbench COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'sleepbench COMMAND -h' for a command's flags.")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	c, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "sleepbench: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := gemm.KernelErr(); err != nil {
		fmt.Fprintf(os.Stderr, "sleepbench: %v\n", err)
		os.Exit(2)
	}
	if err := c.run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "sleepbench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// cpuName is the CPU's model name from /proc/cpuinfo ("unknown" where
// that file is missing), for every time a command reports.
func cpuName() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
