package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// countyCmd manages counties' settings: today the rule set a county's new
// zones are designated under (SPEC §2 "Rules are data").
func (a *app) countyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "county",
		Short: "Show rule sets and assign one to a county",
	}
	cmd.AddCommand(a.countyRuleSetsCmd(), a.countySetRuleSetCmd())
	return cmd
}

func (a *app) countyRuleSetsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rule-sets",
		Short: "List the rule sets and the counties that use them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := a.open(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer store.Close()
			list, err := store.RuleSets(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tLEVELS\tCLEAN DAYS\tDEFAULT\tCOUNTIES\tNAME")
			for _, r := range list {
				var levels, counties []string
				for _, l := range r.Levels {
					levels = append(levels, l.Code)
				}
				for _, c := range r.Counties {
					counties = append(counties, strconv.FormatInt(c, 10))
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%v\t%s\t%s\n", r.ID, strings.Join(levels, ","), r.CleanDays, r.Default, strings.Join(counties, ","), r.Name)
			}
			return w.Flush()
		},
	}
}

func (a *app) countySetRuleSetCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "set-rule-set COUNTY RULESET --reason TEXT",
		Short: "Assign a rule set to a county (audited)",
		Long: `Assign a rule set to a county: the zones designated from now on use its
levels, clean days and measures; zones keep the rule set they were designated
under. Refused while the county has active zones of a level the new rule set
does not have (lift or publish them first). The change is audited with the
actor cli:<operator> (--operator, RISKZONE_OPERATOR or the OS user) and the
reason.`,
		Example: `  riskzone county set-rule-set 1 2022-06 --reason "省指挥部通知：执行第九版方案"
  riskzone --operator li.wei county set-rule-set 1 2022-11 --reason "back to the November rules"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			county, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || county <= 0 {
				return zoning.Errorf(zoning.ErrInvalid, "county %q: want a county id (a positive integer)", args[0])
			}
			req := zoning.RuleSetAssignment{RuleSetID: args[1], Reason: reason}
			if err := req.Validate(); err != nil {
				return err
			}
			store, err := a.open(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer store.Close()
			out, err := postgis.Zones{S: store}.SetCountyRuleSet(cmd.Context(), a.cliOrigin(reason), county, req)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "county %d (%s): rule set %s (was %s), %d levels, %d clean days\n",
				out.CountyID, out.County, out.RuleSet.ID, out.Previous, len(out.RuleSet.Levels), out.RuleSet.CleanDays)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log (required)")
	return cmd
}
