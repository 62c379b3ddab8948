// Package datasets holds sleepbench's data files: the Arrow IPC schema,
// the writer that dataset builders use and the reader that tasks stream
// from, the tokenizers, and the builders that turn the source corpora
// into compact Arrow files (committed under datasets/data).
//
// A dataset file is one domain and one split, in the Arrow IPC *file*
// format (uncompressed, readable by any Arrow implementation), with the
// columns
//
//	domain     dictionary<int8, utf8>   the domain name, on every row
//	split      dictionary<int8, utf8>   train | validation | test
//	text       utf8                     the raw unit (empty for images)
//	input_ids  list<int32>              token ids (pixel bytes for images)
//	label      int32                    class index, or -1 where none
//
// and the schema metadata keys listed with the Key constants
// (sleepbench.schema_version, sleepbench.tokenizer, ...). Files are laid
// out as <dir>/<tokenizer>/<domain>-<split>.arrow, for example
// datasets/data/gpt2-8k/speech-train.arrow.
//
// Create writes a file atomically (a temporary file, fsync, rename);
// Open checks the magic bytes, the footer, the schema, the metadata and
// the schema version before anything is read, and Record decodes one
// record batch at a time, so that a reader never needs a whole file in
// memory. Every error names the file and what is wrong with it.
package datasets
