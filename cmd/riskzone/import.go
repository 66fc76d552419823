package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/riskzone/riskzone/zoning/importer"
)

// importFlags are the flags both import subcommands share.
type importFlags struct {
	source      string
	bbox        string
	estimates   importer.Estimates
	deriveUnits bool
	bulkRows    int64
	noProgress  bool
}

func (f *importFlags) register(cmd *cobra.Command, sourceHelp string) {
	d := importer.DefaultEstimates()
	cmd.Flags().StringVar(&f.source, "source", "", sourceHelp)
	cmd.Flags().StringVar(&f.bbox, "bbox", "", "import only features meeting minlon,minlat,maxlon,maxlat; removals are limited to it too")
	cmd.Flags().Float64Var(&f.estimates.PersonsPerM2, "persons-per-m2", d.PersonsPerM2, "residents per m² of floor, to estimate a missing building population")
	cmd.Flags().IntVar(&f.estimates.DefaultFloors, "default-floors", d.DefaultFloors, "floors assumed for the estimate when a building's are unknown")
	cmd.Flags().Float64Var(&f.estimates.UnitWidthM, "unit-width", d.UnitWidthM, "metres of building length per derived unit (单元)")
	cmd.Flags().IntVar(&f.estimates.FlatsPerFloor, "flats-per-floor", d.FlatsPerFloor, "flats per floor of one unit, to derive units from building:flats")
	cmd.Flags().IntVar(&f.estimates.MaxUnits, "max-units", d.MaxUnits, "most units derived for one building")
	cmd.Flags().BoolVar(&f.deriveUnits, "derive-units", true, "derive units (单元) for residential buildings that have none")
	cmd.Flags().Int64Var(&f.bulkRows, "bulk-rows", importer.DefaultBulkRows,
		"rebuild the indexes of buildings and units after the merge when at least this many buildings come, more than the table holds (faster first loads; readers wait until the import commits); -1: never")
	cmd.Flags().BoolVar(&f.noProgress, "no-progress", false, "no progress bar, even on a terminal")
}

func (f *importFlags) options(opts *importer.Options) error {
	opts.Source = f.source
	opts.Estimates = f.estimates
	opts.SkipUnits = !f.deriveUnits
	opts.BulkRows = f.bulkRows
	if f.bbox != "" {
		b, err := importer.ParseBBox(f.bbox)
		if err != nil {
			return err
		}
		opts.BBox = b
	}
	return nil
}

func (a *app) importCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import geography: OpenStreetMap PBF or GeoJSON",
		Long: `Import real geography into riskzone: buildings (with derived units and
estimated population where missing), barriers (roads, rivers, railways, ridges,
water, walls), admin areas, compounds and places.

An import runs in one transaction: re-importing the same file changes nothing,
a newer extract updates rows by their source id and removes those no longer in
it (within --bbox or --county-relation), and a failed import leaves the
database as it was. Every import is recorded in import_jobs; the summary
(added, changed, removed, skipped, repaired per layer) is printed at the end.`,
	}
	cmd.AddCommand(a.importOSMCmd(), a.importGeoJSONCmd())
	return cmd
}

func (a *app) importOSMCmd() *cobra.Command {
	var f importFlags
	var county int64
	var levels string
	cmd := &cobra.Command{
		Use:   "osm FILE.osm.pbf",
		Short: "Import an OpenStreetMap extract (PBF, or .osm XML)",
		Long: `Import an OpenStreetMap extract. The file is streamed three times (relations,
ways, then everything) and only the locations of nodes that wanted ways use
are kept in memory.

Admin areas come from boundary=administrative relations; --admin-levels maps
OSM admin_level to riskzone's levels (default, as tagged in China:
` + importer.FormatAdminLevels(importer.DefaultAdminLevels()) + `).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := importer.Options{Kind: importer.KindOSM, CountyRelation: county}
			if err := f.options(&opts); err != nil {
				return err
			}
			if levels != "" {
				m, err := importer.ParseAdminLevels(levels)
				if err != nil {
					return err
				}
				opts.AdminLevels = m
			}
			return a.runImport(cmd, args[0], opts, f.noProgress)
		},
	}
	f.register(cmd, `value of the source column of imported rows (default "osm")`)
	cmd.Flags().Int64Var(&county, "county-relation", 0, "import only features meeting the area of this boundary relation (its OSM id)")
	cmd.Flags().StringVar(&levels, "admin-levels", "", `OSM admin_level to level mapping, e.g. "2=province,8=county"`)
	return cmd
}

func (a *app) importGeoJSONCmd() *cobra.Command {
	var f importFlags
	var layer string
	var maps []string
	cmd := &cobra.Command{
		Use:   "geojson --layer LAYER FILE.geojson",
		Short: "Import one layer from an RFC 7946 GeoJSON FeatureCollection",
		Long: `Import one layer from a GeoJSON FeatureCollection (RFC 7946: WGS 84 lon/lat;
a crs member is accepted only when it names WGS 84). The file is streamed one
feature at a time, so its size does not matter.

Properties are read by field name; --map FIELD=PROPERTY reads a field from
another property (repeat, or separate with commas). Fields per layer:
  buildings  id kind name addr_district addr_street addr_community addr_compound
             addr_number floors population flats single_unit
  units      id building number name floors population
  barriers   id kind road_class name
  admin      id level name name_en
  compounds  id name
  places     id kind name enclosed poorly_ventilated
The id defaults to the feature's "id" member, then an "id" property.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := importer.Options{Kind: importer.KindGeoJSON, Layer: layer}
			if err := f.options(&opts); err != nil {
				return err
			}
			m, err := importer.ParseFieldMap(maps)
			if err != nil {
				return err
			}
			opts.FieldMap = m
			return a.runImport(cmd, args[0], opts, f.noProgress)
		},
	}
	f.register(cmd, "value of the source column of imported rows (default: the file name without extension)")
	cmd.Flags().StringVar(&layer, "layer", "", "layer to load: buildings, units, barriers, admin, compounds or places (required)")
	cmd.Flags().StringArrayVar(&maps, "map", nil, "read FIELD from property PROPERTY: --map population=pop")
	_ = cmd.MarkFlagRequired("layer")
	return cmd
}

// runImport opens the database, runs the import with progress on stderr and
// prints the summary on stdout.
func (a *app) runImport(cmd *cobra.Command, path string, opts importer.Options, noProgress bool) error {
	ctx := cmd.Context()
	st, err := a.open(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	show := newImportProgress(a, !noProgress && isTerminal(a.stderr))
	opts.Progress = show.update
	opts.Actor = a.principal().Actor()
	sum, err := importer.New(st, a.log).ImportFile(ctx, path, opts)
	show.finish()
	if err != nil {
		return err
	}
	return sum.Write(a.stdout)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// importProgress shows an import's progress: a bar on a terminal, else a log
// line every few seconds and at each new step.
type importProgress struct {
	a       *app
	bar     *progressbar.ProgressBar
	step    string
	lastLog time.Time
}

func newImportProgress(a *app, terminal bool) *importProgress {
	p := &importProgress{a: a}
	if terminal {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(a.stderr),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetDescription("import"),
		)
	}
	return p
}

func (p *importProgress) update(pr importer.Progress) {
	if p.bar != nil {
		if pr.Step != p.step {
			p.step = pr.Step
			p.bar.Describe(fmt.Sprintf("%-40s", pr.Step))
			if pr.BytesTotal > 0 && p.bar.GetMax64() != pr.BytesTotal {
				p.bar.ChangeMax64(pr.BytesTotal)
			}
		}
		_ = p.bar.Set64(pr.BytesRead)
		return
	}
	if pr.Step != p.step || time.Since(p.lastLog) >= 5*time.Second || pr.Done {
		p.step = pr.Step
		p.lastLog = time.Now()
		pct := 0.0
		if pr.BytesTotal > 0 {
			pct = 100 * float64(pr.BytesRead) / float64(pr.BytesTotal)
		}
		p.a.log.Info("import progress", "job", pr.JobID, "step", pr.Step, "percent", fmt.Sprintf("%.0f", pct), "features", pr.Features)
	}
}

func (p *importProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.a.stderr)
	}
}
