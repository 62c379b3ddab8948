package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/sleepbench/sleepbench/models"
)

func init() {
	commands["models"] = command{"list the built-in Transformer configs with their parameter counts", runModels}
}

// runModels prints one row per built-in Transformer config.
func runModels(args []string) error {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sleepbench models\n\nLists the built-in Transformer configs: shape, backbone parameters\n(embeddings, blocks, pooler: the published counts), total parameters\n(with the MLM head of encoders; classification heads come with tasks)\nand training GFLOPs per token at full context.")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // the flag set has printed its help
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (models takes no arguments)", fs.Arg(0))
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "%-12s\t%-8s\tlayers\td_model\theads\td_ff\tctx\tvocab\tbackbone params\ttotal params\ttrain GFLOP/token\t\n", "name", "arch")
	for _, c := range models.Configs() {
		fmt.Fprintf(w, "%-12s\t%-8s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%.3f\t\n", c.Name, c.Arch, c.Layers, c.DModel, c.Heads, c.DFF, c.Ctx,
			thousands(c.Vocab), thousands(c.BackboneParamCount()), thousands(c.ParamCount()), c.FLOPsPerToken()/1e9)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("\nmatrix backend: %s\n", models.BackendName)
	return nil
}

// thousands formats n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
