package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The standby commands refuse what they cannot do before touching any
// cluster: a bad name, a missing standby, a missing NAME, and any use with
// DATABASE_URL set (a standby of the local cluster would not follow that
// server). The real standby is tested in zoning/postgis/localpg.
func TestStandbyCommandsRefuse(t *testing.T) {
	before, err := filepath.Glob(filepath.Join("..", "..", ".data", "standby-*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"db", "standby", "create", "--name", "../x"}, `standby name "../x"`},
		{nil, []string{"db", "standby", "create", "--name", "Big"}, `standby name "Big"`},
		{nil, []string{"db", "standby", "promote", "nope"}, `no such standby "nope"`},
		{nil, []string{"db", "standby", "remove", "nope"}, `no such standby "nope"`},
		{nil, []string{"db", "standby", "stop", "nope"}, `no such standby "nope"`},
		{nil, []string{"db", "standby", "promote"}, "accepts 1 arg"},
		{[]string{"DATABASE_URL=postgres://u@127.0.0.1:1/x"}, []string{"db", "standby", "create"}, "DATABASE_URL is set"},
		{[]string{"DATABASE_URL=postgres://u@127.0.0.1:1/x"}, []string{"db", "standby", "status"}, "DATABASE_URL is set"},
		{[]string{"DATABASE_URL=postgres://u@127.0.0.1:1/x"}, []string{"db", "standby", "promote", "1"}, "DATABASE_URL is set"},
	} {
		r := runCLI(t, c.env, 20*time.Second, c.args...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("riskzone %s: exit %d, stderr %q; want a failure saying %q", strings.Join(c.args, " "), r.code, r.stderr, c.want)
		}
	}
	after, err := filepath.Glob(filepath.Join("..", "..", ".data", "standby-*"))
	if err != nil || len(after) != len(before) {
		t.Fatalf("standby folders %v before, %v after the refusals (%v)", before, after, err)
	}
}

func TestStandbyHelp(t *testing.T) {
	for _, sub := range []string{"create", "status", "start", "stop", "remove", "promote"} {
		r := runCLI(t, nil, 20*time.Second, "db", "standby", sub, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("riskzone db standby %s --help: exit %d, stdout %q, stderr %q", sub, r.code, r.stdout, r.stderr)
		}
	}
}
