package datasets

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
)

// SchemaVersion is the version of the file layout written into every
// file's metadata; Open rejects files of any other version.
const SchemaVersion = "1"

// Split names.
const (
	Train      = "train"
	Validation = "validation"
	Test       = "test"
)

// Column names, in file order.
const (
	ColDomain   = "domain"
	ColSplit    = "split"
	ColText     = "text"
	ColInputIDs = "input_ids"
	ColLabel    = "label"
)

// Schema metadata keys.
const (
	KeySchemaVersion = "sleepbench.schema_version"
	KeyTokenizer     = "sleepbench.tokenizer"
	KeyVocabSize     = "sleepbench.vocab_size"
	KeySource        = "sleepbench.source"
	KeyLicence       = "sleepbench.licence"
	KeyLabels        = "sleepbench.labels"
	KeyDomain        = "sleepbench.domain"
	KeySplit         = "sleepbench.split"
	// KeyPrefix starts every sleepbench key; Meta.Extra holds the keys
	// not listed above without it (e.g. "sep_id" for "sleepbench.sep_id").
	KeyPrefix = "sleepbench."
)

// Extra keys with a meaning to package tasks. Each value is a token id in
// [0, VocabSize), written in decimal.
const (
	// ExtraSepID separates rows packed end to end into windows (GPT-2's
	// <|endoftext|>, BERT's [SEP]); absent means rows are joined with no
	// separator (and, for BERT inputs, [SEP] defaults to 102).
	ExtraSepID = "sep_id"
	// ExtraClsID is BERT's [CLS] (default 101).
	ExtraClsID = "cls_id"
	// ExtraMaskID is BERT's [MASK] (default 103).
	ExtraMaskID = "mask_id"
	// ExtraPadID is the padding id (default 0).
	ExtraPadID = "pad_id"
)

// TokenizerPixels is the tokenizer name of image files: input_ids hold
// the pixel bytes (vocabulary 256), label the class, text is empty.
const TokenizerPixels = "pixels"

// Meta is a file's schema metadata.
type Meta struct {
	Domain    string // the domain name, e.g. "speech"
	Split     string // Train, Validation or Test
	Tokenizer string // e.g. "gpt2-8k", "bert-uncased", "pixels"
	VocabSize int    // ids are in [0, VocabSize)
	Source    string // package@version of the source(s), comma-separated
	Licence   string
	// Labels names the classes of a classification file (label i is
	// Labels[i]); nil for files without labels (every label is -1).
	Labels []string
	// Extra holds further sleepbench.* keys, without the prefix (see the
	// Extra... constants).
	Extra map[string]string
}

// ExtraID returns the token id stored under the Extra key name (e.g.
// ExtraSepID): ok is false when the key is absent, and err is set when
// its value is not an id in [0, VocabSize).
func (m Meta) ExtraID(name string) (id int32, ok bool, err error) {
	s, ok := m.Extra[name]
	if !ok {
		return 0, false, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v >= m.VocabSize {
		return 0, true, fmt.Errorf("metadata %s%s = %q is not a token id in [0, %d)", KeyPrefix, name, s, m.VocabSize)
	}
	return int32(v), true, nil
}

// check validates m for writing.
func (m Meta) check() error {
	switch {
	case m.Domain == "":
		return fmt.Errorf("empty domain")
	case m.Split != Train && m.Split != Validation && m.Split != Test:
		return fmt.Errorf("split %q is not %s, %s or %s", m.Split, Train, Validation, Test)
	case m.Tokenizer == "":
		return fmt.Errorf("empty tokenizer name")
	case m.VocabSize <= 0 || int64(m.VocabSize) > 1<<31-1:
		return fmt.Errorf("vocabulary size %d out of range", m.VocabSize)
	}
	for i, l := range m.Labels {
		if l == "" || strings.Contains(l, ",") {
			return fmt.Errorf("label %d name %q is empty or holds a comma", i, l)
		}
	}
	if len(m.Labels) > 1<<31-1 {
		return fmt.Errorf("too many labels")
	}
	for k := range m.Extra {
		if k == "" || known[KeyPrefix+k] {
			return fmt.Errorf("extra metadata key %q is empty or a reserved key", k)
		}
	}
	for _, k := range []string{ExtraSepID, ExtraClsID, ExtraMaskID, ExtraPadID} {
		if _, _, err := m.ExtraID(k); err != nil {
			return err
		}
	}
	return nil
}

var known = map[string]bool{
	KeySchemaVersion: true, KeyTokenizer: true, KeyVocabSize: true, KeySource: true,
	KeyLicence: true, KeyLabels: true, KeyDomain: true, KeySplit: true,
}

// metadata encodes m as Arrow schema metadata, keys sorted.
func (m Meta) metadata() arrow.Metadata {
	kv := map[string]string{
		KeySchemaVersion: SchemaVersion,
		KeyTokenizer:     m.Tokenizer,
		KeyVocabSize:     strconv.Itoa(m.VocabSize),
		KeySource:        m.Source,
		KeyLicence:       m.Licence,
		KeyLabels:        strings.Join(m.Labels, ","),
		KeyDomain:        m.Domain,
		KeySplit:         m.Split,
	}
	for k, v := range m.Extra {
		kv[KeyPrefix+k] = v
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = kv[k]
	}
	return arrow.NewMetadata(keys, vals)
}

// metaFrom decodes and validates schema metadata.
func metaFrom(md arrow.Metadata) (Meta, error) {
	get := func(k string) (string, bool) {
		i := md.FindKey(k)
		if i < 0 {
			return "", false
		}
		return md.Values()[i], true
	}
	v, ok := get(KeySchemaVersion)
	if !ok {
		return Meta{}, fmt.Errorf("no %s in the schema metadata (not a sleepbench dataset file?)", KeySchemaVersion)
	}
	if v != SchemaVersion {
		return Meta{}, fmt.Errorf("%s is %q, this reader reads version %q", KeySchemaVersion, v, SchemaVersion)
	}
	var m Meta
	for _, k := range []string{KeyTokenizer, KeyVocabSize, KeyDomain, KeySplit} {
		if s, ok := get(k); !ok || s == "" {
			return Meta{}, fmt.Errorf("metadata key %s is missing or empty", k)
		}
	}
	m.Tokenizer, _ = get(KeyTokenizer)
	m.Domain, _ = get(KeyDomain)
	m.Split, _ = get(KeySplit)
	m.Source, _ = get(KeySource)
	m.Licence, _ = get(KeyLicence)
	vs, _ := get(KeyVocabSize)
	n, err := strconv.Atoi(vs)
	if err != nil || n <= 0 || int64(n) > 1<<31-1 {
		return Meta{}, fmt.Errorf("metadata %s = %q is not a positive int32", KeyVocabSize, vs)
	}
	m.VocabSize = n
	if ls, _ := get(KeyLabels); ls != "" {
		m.Labels = strings.Split(ls, ",")
	}
	for i, k := range md.Keys() {
		if strings.HasPrefix(k, KeyPrefix) && !known[k] {
			if m.Extra == nil {
				m.Extra = map[string]string{}
			}
			m.Extra[strings.TrimPrefix(k, KeyPrefix)] = md.Values()[i]
		}
	}
	if err := m.check(); err != nil {
		return Meta{}, fmt.Errorf("metadata: %w", err)
	}
	return m, nil
}

// schema returns the Arrow schema of a file with metadata m.
func schema(m Meta) *arrow.Schema {
	md := m.metadata()
	return arrow.NewSchema([]arrow.Field{
		{Name: ColDomain, Type: dictType},
		{Name: ColSplit, Type: dictType},
		{Name: ColText, Type: arrow.BinaryTypes.String},
		{Name: ColInputIDs, Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int32)},
		{Name: ColLabel, Type: arrow.PrimitiveTypes.Int32},
	}, &md)
}

// dictType is the type of the domain and split columns.
var dictType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}

// FilePath is the path of a dataset file: dir/tokenizer/domain-split.arrow
// for a domain name, or domain-split.arrow when domain is a path prefix of
// the user's own files (it holds a path separator, e.g. "./my/email").
func FilePath(dir, tokenizer, domain, split string) string {
	if strings.ContainsRune(domain, '/') || strings.ContainsRune(domain, filepath.Separator) {
		return domain + "-" + split + ".arrow"
	}
	return filepath.Join(dir, tokenizer, domain+"-"+split+".arrow")
}
