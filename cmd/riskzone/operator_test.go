package main

import (
	"context"
	"os"
	"os/user"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// CLI writes are audited with the operator's name: --operator, else
// RISKZONE_OPERATOR, else the OS user, as the actor "cli:<name>" with the
// host as the origin. Covered with the built binary: user add, a GeoJSON
// import, a proposal run and the rule-set assignment (with its refusals);
// a bad --operator is refused before anything runs.
func TestCLIWritesAuditTheOperator(t *testing.T) {
	store := pgtest.NewStore(t)
	ctx := context.Background()
	dsn := store.Pool.Config().ConnString()
	env := []string{"DATABASE_URL=" + dsn}
	run := func(extraEnv []string, args ...string) result {
		t.Helper()
		return runCLI(t, append(append([]string{}, env...), extraEnv...), 2*time.Minute, args...)
	}
	lastAudit := func(action string) (actor, reason, remote string) {
		t.Helper()
		if err := store.Pool.QueryRow(ctx, `SELECT actor, reason, remote_addr FROM audit_log WHERE action = $1 ORDER BY id DESC LIMIT 1`, action).
			Scan(&actor, &reason, &remote); err != nil {
			t.Fatalf("audit of %s: %v", action, err)
		}
		return actor, reason, remote
	}
	host, _ := os.Hostname()

	// The flag.
	if r := run(nil, "--operator", "li.wei", "user", "add", "bob", "--role", "expert", "--no-password", "--reason", "new expert"); r.code != 0 {
		t.Fatalf("user add: %d %s", r.code, r.stderr)
	}
	if actor, reason, remote := lastAudit("user.create"); actor != "cli:li.wei" || reason != "new expert" || remote != host {
		t.Fatalf("user add audited as %q %q from %q", actor, reason, remote)
	}
	// The environment.
	if r := run([]string{"RISKZONE_OPERATOR=王芳"}, "user", "add", "carol", "--role", "agency", "--no-password"); r.code != 0 {
		t.Fatalf("user add: %d %s", r.code, r.stderr)
	}
	if actor, _, _ := lastAudit("user.create"); actor != "cli:王芳" {
		t.Fatalf("user add with RISKZONE_OPERATOR audited as %q", actor)
	}
	// The OS user by default.
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if r := run(nil, "user", "add", "dave", "--role", "agency", "--no-password"); r.code != 0 {
		t.Fatalf("user add: %d %s", r.code, r.stderr)
	}
	if actor, _, _ := lastAudit("user.create"); actor != "cli:"+me.Username {
		t.Fatalf("user add by default audited as %q, want cli:%s", actor, me.Username)
	}
	// A bad name is refused before anything runs.
	var users int
	count := func() int {
		if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil {
			t.Fatal(err)
		}
		return users
	}
	before := count()
	for _, bad := range []string{" li.wei", "li\nwei", strings.Repeat("x", 65)} {
		if r := run(nil, "--operator", bad, "user", "add", "erin", "--role", "agency", "--no-password"); r.code == 0 || !strings.Contains(r.stderr, "--operator") {
			t.Fatalf("--operator %q: %d %s", bad, r.code, r.stderr)
		}
	}
	if count() != before {
		t.Fatal("a refused --operator created a user")
	}

	// An import (the admin layer gives the county).
	if r := run(nil, "--operator", "li.wei", "import", "geojson", "--layer", "admin", "--no-progress", "../../zoning/importer/testdata/admin.geojson"); r.code != 0 {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	if actor, _, _ := lastAudit("import"); actor != "cli:li.wei" {
		t.Fatalf("import audited as %q", actor)
	}
	var county int64
	if err := store.Pool.QueryRow(ctx, `SELECT id FROM admin_areas WHERE level = 'county'`).Scan(&county); err != nil {
		t.Fatal(err)
	}
	c := strconv.FormatInt(county, 10)

	// A proposal run.
	if r := run(nil, "--operator", "li.wei", "propose", "--county", c, "--out", os.DevNull); r.code != 0 {
		t.Fatalf("propose: %d %s", r.code, r.stderr)
	}
	if actor, reason, _ := lastAudit("proposal.run"); actor != "cli:li.wei" || reason != "riskzone propose" {
		t.Fatalf("proposal run audited as %q %q", actor, reason)
	}

	// The rule set: refusals change nothing, the assignment is audited.
	ruleSet := func() string {
		var id *string
		if err := store.Pool.QueryRow(ctx, `SELECT rule_set_id FROM admin_areas WHERE id = $1`, county).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if id == nil {
			return ""
		}
		return *id
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"county", "set-rule-set", c, "2022-06"}, "reason is required"},
		{[]string{"county", "set-rule-set", c, "1999-01", "--reason", "x"}, `no rule set "1999-01"`},
		{[]string{"county", "set-rule-set", "abc", "2022-06", "--reason", "x"}, `county "abc"`},
		{[]string{"county", "set-rule-set", "999999", "2022-06", "--reason", "x"}, "county 999999 not found"},
	} {
		if r := run(nil, tc.args...); r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Fatalf("%v: %d %q, want an error with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if got := ruleSet(); got != "" {
		t.Fatalf("refused assignments set the rule set %q", got)
	}
	r := run(nil, "--operator", "li.wei", "county", "set-rule-set", c, "2022-06", "--reason", "省指挥部通知：执行第九版方案")
	if r.code != 0 || !strings.Contains(r.stdout, "rule set 2022-06 (was 2022-11), 3 levels, 7 clean days") {
		t.Fatalf("set-rule-set: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if got := ruleSet(); got != "2022-06" {
		t.Fatalf("rule set %q after set-rule-set", got)
	}
	if actor, reason, _ := lastAudit("county.rule_set"); actor != "cli:li.wei" || reason != "省指挥部通知：执行第九版方案" {
		t.Fatalf("set-rule-set audited as %q %q", actor, reason)
	}
	if r := run(nil, "county", "rule-sets"); r.code != 0 || !strings.Contains(r.stdout, "2022-06  high,medium,low  7") {
		t.Fatalf("rule-sets: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// The demo's writes (the load and the story's accounts) name the operator.
func TestCLIDemoAuditsTheOperator(t *testing.T) {
	store := pgtest.NewStore(t)
	r := runCLI(t, []string{"DATABASE_URL=" + store.Pool.Config().ConnString()}, 3*time.Minute,
		"--operator", "zhao.lei", "demo", "--buildings", "3000")
	if r.code != 0 {
		t.Fatalf("demo: %d %s", r.code, r.stderr)
	}
	var load, accounts, other int
	if err := store.Pool.QueryRow(context.Background(), `SELECT
		count(*) FILTER (WHERE action = 'demo.load' AND actor = 'cli:zhao.lei'),
		count(*) FILTER (WHERE action = 'user.create' AND actor = 'cli:zhao.lei'),
		count(*) FILTER (WHERE actor = 'cli')
		FROM audit_log`).Scan(&load, &accounts, &other); err != nil {
		t.Fatal(err)
	}
	if load != 1 || accounts == 0 || other != 0 {
		t.Fatalf("demo audit: %d loads and %d accounts by cli:zhao.lei, %d entries by an unnamed cli", load, accounts, other)
	}
}
