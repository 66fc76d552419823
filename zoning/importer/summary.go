package importer

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// LayerCounts are what an import did to one layer. Read counts the features
// of the layer in the file (after the scope); for derived units, the units
// derived. Unchanged = Read - Skipped - Added - Changed.
type LayerCounts struct {
	Layer     string `json:"layer"`
	Read      int64  `json:"read"`
	Added     int64  `json:"added"`
	Changed   int64  `json:"changed"`
	Unchanged int64  `json:"unchanged"`
	Removed   int64  `json:"removed"`
	// Retained: absent from the file but kept because cases, traces, zones or
	// notices point at them.
	Retained int64 `json:"retained"`
	// Skipped: features not imported (their geometry is not usable); listed in
	// Summary.Skipped.
	Skipped int64 `json:"skipped"`
	// Repaired: invalid geometries made valid by ST_MakeValid and imported.
	Repaired int64 `json:"repaired"`
}

// Skip names one feature that was not imported, and why.
type Skip struct {
	Layer    string `json:"layer,omitempty"`
	SourceID string `json:"source_id"`
	Reason   string `json:"reason"`
}

// Summary is the outcome of an import, stored as the job's summary.
type Summary struct {
	JobID  int64         `json:"job_id"`
	Kind   string        `json:"kind"`
	Layer  string        `json:"layer,omitempty"`
	Source string        `json:"source"`
	File   string        `json:"file"`
	Layers []LayerCounts `json:"layers"`
	// Skipped lists the first skipped features (SkippedTotal counts all),
	// including OSM elements that could not be read (layer empty).
	Skipped      []Skip `json:"skipped"`
	SkippedTotal int64  `json:"skipped_total"`
	// Features: rows staged (one per feature and layer it belongs to); Bytes: the file.
	Features int64 `json:"features"`
	Bytes    int64 `json:"bytes"`
	// Seconds spent reading and staging, merging, and in all.
	ReadSeconds  float64 `json:"read_seconds"`
	MergeSeconds float64 `json:"merge_seconds"`
	Seconds      float64 `json:"seconds"`
	// LayerVersions are the layer_versions rows bumped (empty: nothing changed).
	LayerVersions []string `json:"layer_versions"`
	// Bulk: the indexes of buildings and units were rebuilt (Options.BulkRows).
	Bulk bool `json:"bulk"`
}

// LayerCounts returns the counts of a layer (zero counts if it was not touched).
func (s *Summary) LayerCounts(layer string) LayerCounts {
	for _, l := range s.Layers {
		if l.Layer == layer {
			return l
		}
	}
	return LayerCounts{Layer: layer}
}

// Changed reports whether the import changed anything.
func (s *Summary) Changed() bool { return len(s.LayerVersions) > 0 }

// Throughput is features read per second over the whole import.
func (s *Summary) Throughput() float64 {
	if s.Seconds <= 0 {
		return 0
	}
	return float64(s.Features) / s.Seconds
}

// BuildingsPerSecond is buildings read per second over the whole import.
func (s *Summary) BuildingsPerSecond() float64 {
	if s.Seconds <= 0 {
		return 0
	}
	return float64(s.LayerCounts("buildings").Read) / s.Seconds
}

// Write prints the summary as a table for people.
func (s *Summary) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "import job %d: %s %s as source %q\n", s.JobID, s.Kind, s.File, s.Source)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tread\tadded\tchanged\tunchanged\tremoved\tretained\tskipped\trepaired\t")
	for _, l := range s.Layers {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", l.Layer, l.Read, l.Added, l.Changed, l.Unchanged, l.Removed, l.Retained, l.Skipped, l.Repaired)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	const listed = 20 // the job's summary keeps more (Options.ListSkipped)
	for i, k := range s.Skipped {
		if i == listed {
			break
		}
		layer := k.Layer
		if layer == "" {
			layer = "(osm)"
		}
		fmt.Fprintf(&b, "  skipped %s %s: %s\n", layer, k.SourceID, k.Reason)
	}
	if n := s.SkippedTotal - int64(min(len(s.Skipped), listed)); n > 0 {
		fmt.Fprintf(&b, "  ... and %d more skipped\n", n)
	}
	changed := "nothing changed"
	if s.Changed() {
		changed = "layer versions bumped: " + strings.Join(s.LayerVersions, ", ")
	}
	fmt.Fprintf(&b, "%d features, %.1f MB in %s (read %s, merge %s): %.0f features/s, %.0f buildings/s; %s\n",
		s.Features, float64(s.Bytes)/1e6, round(s.Seconds), round(s.ReadSeconds), round(s.MergeSeconds),
		s.Throughput(), s.BuildingsPerSecond(), changed)
	_, err := io.WriteString(w, b.String())
	return err
}

func round(sec float64) time.Duration {
	return time.Duration(sec * float64(time.Second)).Round(10 * time.Millisecond)
}
