package datasets

import (
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
)

// Info writes a summary of the dataset file at path to w: its schema,
// metadata, rows, record batches, token count (with the shortest, mean
// and longest row) and the label histogram. It decodes every record
// batch, so it also reports the first damaged one.
func Info(path string, w io.Writer) error {
	r, err := Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	var size int64
	if st, err := os.Stat(path); err == nil {
		size = st.Size()
	}
	m := r.Meta()
	var (
		tokens         int64
		minLen, maxLen = -1, 0
		hist           = map[int32]int64{}
	)
	for i := 0; i < r.NumRecords(); i++ {
		b, err := r.Record(i)
		if err != nil {
			return err
		}
		for j := 0; j < b.Len(); j++ {
			n := len(b.InputIDs(j))
			tokens += int64(n)
			if minLen < 0 || n < minLen {
				minLen = n
			}
			maxLen = max(maxLen, n)
			hist[b.Label(j)]++
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "file\t%s (%d bytes)\n", path, size)
	sc := r.fr.Schema()
	for i, f := range sc.Fields() {
		label := ""
		if i == 0 {
			label = "schema"
		}
		fmt.Fprintf(tw, "%s\t%s: %s\n", label, f.Name, f.Type)
	}
	md := sc.Metadata()
	keys := append([]string(nil), md.Keys()...)
	sort.Strings(keys)
	for i, k := range keys {
		label := ""
		if i == 0 {
			label = "metadata"
		}
		fmt.Fprintf(tw, "%s\t%s = %q\n", label, k, md.Values()[md.FindKey(k)])
	}
	fmt.Fprintf(tw, "rows\t%d\n", r.NumRows())
	fmt.Fprintf(tw, "batches\t%d\n", r.NumRecords())
	fmt.Fprintf(tw, "tokens\t%d (per row: min %d, mean %.1f, max %d)\n",
		tokens, minLen, float64(tokens)/float64(r.NumRows()), maxLen)
	if len(m.Labels) == 0 {
		fmt.Fprintf(tw, "labels\tnone\n")
	}
	for i, name := range m.Labels {
		label := ""
		if i == 0 {
			label = "labels"
		}
		c := hist[int32(i)]
		fmt.Fprintf(tw, "%s\t%d %s: %d rows (%.1f%%)\n", label, i, name, c, 100*float64(c)/float64(r.NumRows()))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("datasets: info %s: %w", path, err)
	}
	return nil
}
