package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

func (a *app) proposeCmd() *cobra.Command {
	var county int64
	var at, paramsFile, out string
	cmd := &cobra.Command{
		Use:   "propose",
		Short: "Run the proposal engine for a county and store the proposals",
		Long: `Run the proposal engine (SPEC §3) for a county at a time: counted cases in the
look-back window, unit/building seeds, high-risk places, H3 spread clusters
enlarged bottom-up (compound, fine block, coarse block) to the first level that
holds them within the rule set's enlargement bounds, else the bounded fallback
(nearby buildings not across a barrier). The proposals are stored with status
"proposed" and written as GeoJSON (with the restricted rationale) to --out.

Parameters (JSON, every field optional, defaults in brackets): window_days [14],
h3_resolution [9], spread_min_buildings [3], spread_days [3],
unknown_source_spreads [true], building_min_units [2], place_min_cases [2],
place_min_visits [3], place_long_stay_hours [2], boundary_kinds [road river
canal railway ridge cliff water], boundary_road_classes [motorway trunk primary
secondary], barrier_tolerance_m [8], membership_share [0.5],
fine_boundary_kinds [every barrier kind], fine_boundary_road_classes [every
road class], floor_area_per_worker_m2 [20]. The enlargement bounds are the
rule set's (rule_sets.enlargement): max_residents [3000], max_area_m2
[250000], max_ratio [10], fallback_distance_m [30], max_edge_share [0.5].`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t := time.Now()
			if at != "" {
				var err error
				if t, err = parseTime(at); err != nil {
					return err
				}
			}
			var raw []byte
			if paramsFile != "" {
				var err error
				if raw, err = os.ReadFile(paramsFile); err != nil {
					return fmt.Errorf("read --params: %w", err)
				}
			}
			params, err := zoning.ParseProposeParams(raw)
			if err != nil {
				return err
			}
			store, err := a.open(ctx, false)
			if err != nil {
				return err
			}
			defer store.Close()
			start := time.Now()
			p, err := zoning.Propose(ctx, postgis.Proposals{S: store}, zoning.ProposeRequest{CountyID: county, At: t, Params: params, Now: time.Now()}, nil)
			if err != nil {
				return err
			}
			took := time.Since(start)
			// Audited like the server's runs (action proposal.run), with the
			// operator as the actor.
			e := a.cliOrigin("riskzone propose").Entry("proposal.run", "proposal_run", strconv.FormatInt(p.RunID, 10))
			e.After = map[string]any{"county_id": county, "at": t.UTC().Format(time.RFC3339), "proposals": len(p.IDs)}
			if err := store.Audit(ctx, e); err != nil {
				return err
			}
			var w io.Writer = a.stdout
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return fmt.Errorf("create --out: %w", err)
				}
				defer f.Close()
				w = f
			}
			if err := zoning.WriteProposalGeoJSON(w, p, true); err != nil {
				return err
			}
			pop := 0
			for _, d := range p.Drafts {
				pop += d.Population
			}
			fmt.Fprintf(a.stderr, "run %d: %d proposals, population %d, %d cases ignored, %d clusters, in %s\n",
				p.RunID, len(p.Drafts), pop, len(p.Ignored), len(p.Clusters), took.Round(time.Millisecond))
			return nil
		},
	}
	f := cmd.Flags()
	f.Int64Var(&county, "county", 0, "county id (admin_areas.id, level county)")
	f.StringVar(&at, "at", "", "time of the proposal (RFC 3339, or YYYY-MM-DD for the end of that day in China time; default now)")
	f.StringVar(&paramsFile, "params", "", "JSON file of engine parameters")
	f.StringVar(&out, "out", "-", "GeoJSON output file (- for stdout)")
	_ = cmd.MarkFlagRequired("county")
	return cmd
}

// parseTime accepts RFC 3339 or a date (taken as the end of that day in
// China's calendar, the zones' own — not the UTC day — or now when that is
// earlier).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, s, zoning.ChinaTime()); err == nil {
		end := d.AddDate(0, 0, 1).Add(-time.Second)
		if now := time.Now(); end.After(now) && !d.After(now) {
			return now, nil
		}
		return end, nil
	}
	return time.Time{}, zoning.Errorf(zoning.ErrInvalid, "time %q: want RFC 3339 (2022-11-21T10:00:00+08:00) or a date (2022-11-21)", s)
}
