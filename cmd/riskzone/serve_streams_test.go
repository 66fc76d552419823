package main

import (
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/riskzone/riskzone/server"
)

// The public stream bounds come from flags, else the environment, else the
// defaults; a bound of 0 (no bound) is refused.
func TestStreamFlags(t *testing.T) {
	parse := func(args ...string) server.StreamConfig {
		t.Helper()
		var c server.StreamConfig
		f := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		streamFlags(f, &c)
		if err := f.Parse(args); err != nil {
			t.Fatal(err)
		}
		return c
	}
	def := parse()
	if def.PoolSize != 8 || def.StatementTimeout != 30*time.Second || def.Exports != 4 || def.Items != 4 || def.PerAddress != 2 {
		t.Errorf("defaults: %+v", def)
	}
	if err := checkStreamFlags(def); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
	t.Setenv("RISKZONE_PUBLIC_POOL_SIZE", "3")
	t.Setenv("RISKZONE_PUBLIC_STATEMENT_TIMEOUT", "5s")
	t.Setenv("RISKZONE_PUBLIC_EXPORTS", "2")
	t.Setenv("RISKZONE_PUBLIC_ITEMS", "1")
	t.Setenv("RISKZONE_PUBLIC_STREAMS_PER_ADDRESS", "1")
	env := parse()
	if env.PoolSize != 3 || env.StatementTimeout != 5*time.Second || env.Exports != 2 || env.Items != 1 || env.PerAddress != 1 {
		t.Errorf("from the environment: %+v", env)
	}
	flags := parse("--public-pool-size=6", "--public-statement-timeout=2s", "--public-exports=5", "--public-items=3", "--public-streams-per-address=4")
	if flags.PoolSize != 6 || flags.StatementTimeout != 2*time.Second || flags.Exports != 5 || flags.Items != 3 || flags.PerAddress != 4 {
		t.Errorf("from flags over the environment: %+v", flags)
	}
	for _, bad := range [][]string{{"--public-pool-size=0"}, {"--public-exports=0"}, {"--public-items=-1"}, {"--public-streams-per-address=0"}, {"--public-statement-timeout=0s"}} {
		if err := checkStreamFlags(parse(bad...)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
