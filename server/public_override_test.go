package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// A lift by an admin override is published as the command centre's decision
// with the written reason, in the notice page, its CAP file and the Atom
// feed, in both languages, and never as eligible or all tested negative.
func TestOverrideLiftAnnouncedAsDecision(t *testing.T) {
	e := newPublicEnv(t)
	ctx := context.Background()
	var zone int64
	if err := e.store.Pool.QueryRow(ctx, `SELECT zone_id FROM public_zone_versions WHERE status = 'active' ORDER BY zone_id LIMIT 1`).Scan(&zone); err != nil {
		t.Fatal(err)
	}
	root, pub := e.addUser("root", zoning.RoleAdmin, ""), e.addUser("pub", zoning.RolePublisher, "")
	const reason = "经流调复核，区域内病例为既往感染，指挥部决定提前解除"
	if _, err := (postgis.Zones{S: e.store}).Lift(ctx, zoning.Origin{Actor: root.Principal(zoning.ViaSession)}, zone,
		zoning.LiftRequest{Reason: reason, Override: true}); err != nil {
		t.Fatal(err)
	}
	nts, err := (postgis.Notices{S: e.store}).Publish(ctx, zoning.Origin{Actor: pub.Principal(zoning.ViaSession)},
		zoning.PublishRequest{CountyID: e.sum.CountyID, Reason: "publish the override"})
	if err != nil || len(nts) == 0 {
		t.Fatalf("publish: %v %v", nts, err)
	}
	id := nts[0].ID
	never := []string{"符合解除条件", "检测均为阴性", "meet the lifting conditions", "negative screening", "eligible"}
	cp := string(e.get(fmt.Sprintf("/notices/%d.cap", id), http.StatusOK).body)
	var atomEntry string
	for _, entry := range strings.Split(string(e.get("/notices.atom", http.StatusOK).body), "<entry>") {
		if strings.Contains(entry, fmt.Sprintf("/notices/%d<", id)) || strings.Contains(entry, fmt.Sprintf("/notices/%d\"", id)) {
			atomEntry = entry
		}
	}
	if atomEntry == "" {
		t.Fatalf("the Atom feed has no entry for notice %d", id)
	}
	zh := string(e.get(fmt.Sprintf("/notices/%d", id), http.StatusOK).body)
	en := string(e.get(fmt.Sprintf("/notices/%d?lang=en", id), http.StatusOK).body)
	for name, doc := range map[string]string{"CAP": cp, "Atom": atomEntry, "page zh": zh, "page en": en} {
		for _, w := range never {
			if strings.Contains(doc, w) {
				t.Errorf("%s of notice %d says %q of an override lift", name, id, w)
			}
		}
		if !strings.Contains(doc, reason) {
			t.Errorf("%s of notice %d lacks the written reason", name, id)
		}
	}
	for name, doc := range map[string]string{"CAP": cp, "page zh": zh} {
		if !strings.Contains(doc, "决定解除管控") {
			t.Errorf("%s: no decision of the command centre in zh", name)
		}
	}
	for name, doc := range map[string]string{"CAP": cp, "page en": en} {
		if !strings.Contains(doc, "lifted by decision of the") {
			t.Errorf("%s: no decision of the command centre in en", name)
		}
	}
}
