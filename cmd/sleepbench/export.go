package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sleepbench/sleepbench/models"
)

func init() {
	commands["export"] = command{"write a sleepbench checkpoint in the Hugging Face layout", runExport}
}

// runExport converts a sleepbench checkpoint of a built-in model into a
// Hugging Face model.safetensors with its config.json beside it.
func runExport(args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	hf := fs.Bool("hf", false, "write the Hugging Face layout (GPT-2 for decoders, BERT with the MLM head for encoders); required, the only format")
	model := fs.String("model", "", "built-in model the checkpoint was made for (see 'sleepbench models')")
	in := fs.String("in", "", "sleepbench checkpoint (.safetensors) to read")
	out := fs.String("out", "", "file to write, e.g. DIR/model.safetensors; config.json is written beside it")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sleepbench export -hf -model NAME -in CKPT.safetensors -out DIR/model.safetensors\n\nWrites the model's parameters under the Hugging Face names and layouts\n(F32), and DIR/config.json, so that transformers (GPT2LMHeadModel,\nBertForMaskedLM) or -set init=hf:DIR/model.safetensors can open them.\nClassification heads have no place in that layout and are left out.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case !*hf:
		return errors.New("-hf is required (the Hugging Face layout is the only export format)")
	case *model == "" || *in == "" || *out == "":
		return errors.New("-model, -in and -out are required")
	}
	cfg, err := models.LookupConfig(*model)
	if err != nil {
		return fmt.Errorf("-model: %w", err)
	}
	// A checkpoint saved during a classification run holds the task
	// heads cls.K.*: build them so that the file loads, then leave them
	// out of the export.
	shapes, err := models.CheckpointShapes(*in)
	if err != nil {
		return err
	}
	for k := 0; ; k++ {
		s, ok := shapes[fmt.Sprintf("cls.%d.weight", k)]
		if !ok || len(s) != 2 {
			break
		}
		cfg.Classes = append(cfg.Classes, s[0])
	}
	m, err := models.NewTransformer(cfg, 1)
	if err != nil {
		return err
	}
	if _, err := models.LoadCheckpoint(*in, m.Params()); err != nil {
		return err
	}
	if err := models.ExportHF(*out, m); err != nil {
		return err
	}
	js, err := models.HFConfigJSON(cfg)
	if err != nil {
		return err
	}
	conf := filepath.Join(filepath.Dir(*out), "config.json")
	if err := os.WriteFile(conf, append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", conf, err)
	}
	fmt.Printf("wrote %s and %s (%s, %d classification heads left out)\n", *out, conf, cfg.Name, len(cfg.Classes))
	return nil
}
