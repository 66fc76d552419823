package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/demo"
)

func (a *app) demoCmd() *cobra.Command {
	var (
		seed      uint64
		buildings int
		today     string
		replace   bool
		ifEmpty   bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Load the demo county (临河区) with buildings, barriers, places and an outbreak",
		Long: `Generate the demo county 临河区 (示范省 示范市) and load it into the database with
COPY, in one transaction: streets, communities and compounds; buildings with
units and populations; roads, a river, a railway and a ridge; markets,
offices, gyms, restaurants and schools; and an outbreak of about 1% of the
buildings over the 10 days before --today, clustered in two neighbourhoods,
with traces, unknown-source cases and exclusions.

The same --seed, --buildings and --today give identical data, ids included.
A database that already has data is refused unless --replace is given, which
deletes the demo and zoning data (users, tokens, rule sets and the audit log
are kept).`,
		Example: `  riskzone demo
  riskzone demo --buildings 1000000 --replace
  riskzone demo --seed 7 --today 2022-11-20 --if-empty`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if replace && ifEmpty {
				return errors.New("--replace and --if-empty contradict each other: give one")
			}
			// Today in China's calendar (the demo county's), not the UTC day:
			// before 08:00 in Beijing they differ.
			day := zoning.DateOf(time.Now(), zoning.ChinaTime()).Time
			if today != "" {
				t, err := time.Parse("2006-01-02", today)
				if err != nil {
					return fmt.Errorf("--today %q: want a date like 2022-11-20", today)
				}
				day = t
			}
			opt := demo.Options{Seed: seed, Buildings: buildings, Today: day, Replace: replace, Actor: a.principal()}
			if buildings < demo.MinBuildings || buildings > demo.MaxBuildings {
				return fmt.Errorf("--buildings %d: want %d to %d", buildings, demo.MinBuildings, demo.MaxBuildings)
			}
			store, err := a.open(ctx, true)
			if err != nil {
				return err
			}
			defer store.Close()
			if ifEmpty {
				found, err := demo.Existing(ctx, store.Pool)
				if err != nil {
					return err
				}
				if len(found) > 0 {
					fmt.Fprintln(a.stdout, "the database already has data: demo not loaded")
					return nil
				}
			}
			a.log.Info("loading demo county", "seed", seed, "buildings", buildings, "today", day.Format("2006-01-02"), "replace", replace)
			prog := a.demoProgress()
			sum, err := demo.Load(ctx, store, opt, prog.update)
			prog.finish()
			if err != nil {
				return err
			}
			printDemoSummary(a.stdout, sum)
			// The story: proposals, approvals, edits, a lift and the notices
			// of each, published, with webhook subscribers (zoning/demo/story.go).
			st, err := demo.TellStory(ctx, store, sum)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "  story: %d zones approved, zone %d adjusted, zone %d split into %v, zone %d lifted; notices %v; %d subscribers; %d fresh proposals\n",
				st.Zones, st.Adjusted, st.Split, st.Parts, st.Lifted, st.Notices, st.Subscribers, st.FreshProposals)
			return nil
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&seed, "seed", 1, "random seed: the same seed gives the same county")
	f.IntVar(&buildings, "buildings", 20000, fmt.Sprintf("number of buildings (%d to %d)", demo.MinBuildings, demo.MaxBuildings))
	f.StringVar(&today, "today", "", "date the outbreak leads up to, YYYY-MM-DD (default: today in China, Asia/Shanghai)")
	f.BoolVar(&replace, "replace", false, "delete the demo and zoning data already loaded first")
	f.BoolVar(&ifEmpty, "if-empty", false, "do nothing (and succeed) when the database already has data")
	cmd.AddCommand(a.demoLoginsCmd())
	return cmd
}

// demoProgress shows load progress: a progress bar when stderr is a
// terminal, else a log line every few seconds.
type demoProgress struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	a     *app
	table demo.Table
	last  time.Time
}

func (a *app) demoProgress() *demoProgress {
	p := &demoProgress{a: a, table: -1, last: time.Now()}
	if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(a.stderr),
			progressbar.OptionSetDescription("demo"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

func (p *demoProgress) update(t demo.Table, done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		if p.bar.GetMax64() != total {
			p.bar.ChangeMax64(total)
		}
		if t != p.table {
			p.bar.Describe(t.String())
		}
		p.table = t
		_ = p.bar.Set64(done)
		return
	}
	if t != p.table || time.Since(p.last) >= 5*time.Second || done == total {
		p.a.log.Info("loading demo", "table", t.String(), "rows", done, "of", total)
		p.table, p.last = t, time.Now()
	}
}

func (p *demoProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

func printDemoSummary(w io.Writer, s *demo.Summary) {
	c := s.Counts
	fmt.Fprintf(w, "loaded demo county %s (id %d, seed %d, today %s) in %s\n",
		s.County, s.CountyID, s.Options.Seed, s.Options.Today.UTC().Format("2006-01-02"), s.Duration.Round(time.Millisecond))
	fmt.Fprintf(w, "  admin areas %d, compounds %d, buildings %d, units %d, places %d, barriers %d\n",
		c.AdminAreas, c.Compounds, c.Buildings, c.Units, c.Places, c.Barriers)
	fmt.Fprintf(w, "  population %d\n", s.Population)
	fmt.Fprintf(w, "  cases %d in %d buildings (%d of unknown source), traces %d\n", c.Cases, s.CaseBuildings, s.UnknownSource, c.Traces)
	cats := make([]string, 0, len(s.Excluded))
	for k := range s.Excluded {
		cats = append(cats, k)
	}
	sort.Strings(cats)
	fmt.Fprint(w, "  excluded:")
	for _, k := range cats {
		fmt.Fprintf(w, " %s %d", k, s.Excluded[k])
	}
	fmt.Fprintln(w)
	for i, cl := range s.Clusters {
		fmt.Fprintf(w, "  cluster %d: %d case buildings within %.0f m of %.5f,%.5f\n", i+1, cl.CaseBuildings, cl.RadiusM, cl.Lon, cl.Lat)
	}
}
