package main

import (
	"fmt"
	"os"
	"os/user"
	"strings"
	"unicode"

	"github.com/riskzone/riskzone/zoning"
)

// The operator of the command line: every write the CLI makes (users and
// tokens, imports, the demo, proposal runs, rule-set assignments) is audited
// with the actor "cli:<operator>", so that the log says who ran it. The
// name comes from --operator, else RISKZONE_OPERATOR, else the OS user.

// maxOperatorLength bounds an operator's name (runes).
const maxOperatorLength = 64

// defaultOperator is the OS user running the command ("" when unknown).
func defaultOperator() string {
	if v := os.Getenv("RISKZONE_OPERATOR"); v != "" {
		return v
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// checkOperator validates --operator: printable, no spaces at the ends, at
// most maxOperatorLength runes. An empty name (no flag, no environment, an
// OS user without a name, as in some containers) is allowed: the writes are
// then audited as "cli" alone, as the server's own jobs are.
func checkOperator(name string) error {
	if name == "" {
		return nil
	}
	if strings.TrimSpace(name) != name {
		return fmt.Errorf("--operator %q: no spaces at the start or end", name)
	}
	if n := len([]rune(name)); n > maxOperatorLength {
		return fmt.Errorf("--operator: %d characters, at most %d", n, maxOperatorLength)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("--operator %q: only printable characters", name)
		}
	}
	return nil
}

// principal is the command line acting for its operator: the admin role
// (whoever runs it reaches the database directly), actor "cli:<operator>"
// ("cli" when no operator is known).
func (a *app) principal() zoning.Principal {
	p := zoning.CLI()
	if a.operator != "" {
		p.Username = "cli:" + a.operator
	}
	return p
}

// cliOrigin is the audit origin of a command-line change: the operator, the
// host it ran on and why.
func (a *app) cliOrigin(reason string) zoning.Origin {
	host, _ := os.Hostname()
	return zoning.Origin{Actor: a.principal(), RemoteAddr: host, Reason: reason}
}
