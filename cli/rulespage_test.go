package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protojwt/protojwt/annotations"
)

// rulesPageOf runs "rules --html" on the test services and returns the
// page.
func rulesPageOf(t *testing.T) (path, page string) {
	t.Helper()
	set := writeFile(t, "api.binpb", marshalSet(t, testpbSet(true)))
	path = filepath.Join(t.TempDir(), "rules.html")
	r := cmd{}.run(t, "rules", "--html", path, set)
	checkResult(t, r, exitOK, []string{"METHOD"}, nil)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("PROTOJWT_RULES_PAGE"); out != "" {
		os.WriteFile(out, data, 0o644) // to look at it in a browser
	}
	return path, string(data)
}

// rowRE matches a method's row of the page and its cells.
var rowRE = regexp.MustCompile(`(?s)<tr class="method" data-method="([^"]+)" data-search="([^"]*)">\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td class="type">(.*?)</td>\s*<td class="claims">(.*?)</td>\s*<td class="checks">(.*?)</td>\s*<td class="scopes">(.*?)</td>\s*<td class="expr">(.*?)</td>\s*<td class="anyof">(.*?)</td>\s*<td class="dryrun">(.*?)</td>\s*</tr>`)

// TestRulesPage checks the page's structure: a row per method with each
// part of its rule in its column, the literal index, and nothing loaded
// from elsewhere.
func TestRulesPage(t *testing.T) {
	_, page := rulesPageOf(t)
	rows := map[string][]string{}
	for _, m := range rowRE.FindAllStringSubmatch(page, -1) {
		rows[m[1]] = m
	}
	r := cmd{}.run(t, "rules", "--json", writeFile(t, "api.binpb", marshalSet(t, testpbSet(true))))
	methods := regexp.MustCompile(`"method": "([^"]+)"`).FindAllStringSubmatch(r.stdout, -1)
	if len(methods) == 0 || len(rows) != len(methods) {
		t.Fatalf("%d rows, %d methods", len(rows), len(methods))
	}
	for _, m := range methods {
		if rows[m[1]] == nil {
			t.Errorf("no row for %s", m[1])
		}
	}
	const g = "/protojwt.test.v1.GuardedService/"
	cells := []struct {
		method string
		cell   int // 3 method, 4 access, 5 type, 6 claims, 7 checks, 8 scopes, 9 expr, 10 any_of, 11 dry run
		want   string
	}{
		{g + "Public", 4, `<span class="tag public">public</span>`},
		{g + "Public", 5, ``},
		{g + "Refresh", 5, `refresh`},
		{g + "Refresh", 4, `<span class="tag token">token</span>`},
		{g + "FieldTop", 5, `auth`},
		{g + "FieldTop", 6, `<code>sub=field:username</code>`},
		{g + "Scopes", 8, `<code>read</code><code>write</code>`},
		{g + "AnyOf", 10, `<code>role=&#34;admin&#34;</code><code>sub=field:owner</code>`},
		{g + "Undeclared", 4, `<span class="tag denied">denied: no rule</span>`},
		{g + "Checks", 7, `<code>realm_access.roles contains &#34;orders-admin&#34;</code>`},
	}
	for _, c := range cells {
		row := rows[c.method]
		if row == nil {
			t.Errorf("no row %s", c.method)
			continue
		}
		if got := strings.TrimSpace(row[c.cell]); got != c.want && !(c.want != "" && strings.Contains(got, c.want)) {
			t.Errorf("%s cell %d = %q, want %q", c.method, c.cell, got, c.want)
		}
	}
	// The index: read and write name the Scopes method.
	for _, lit := range []string{"read", "write", "admin", "orders-admin"} {
		re := regexp.MustCompile(`(?s)<div class="literal" data-literal="` + regexp.QuoteMeta(lit) + `">.*?</div>`)
		entry := re.FindString(page)
		if entry == "" {
			t.Errorf("no index entry for %q", lit)
			continue
		}
		if lit == "read" && !strings.Contains(entry, "<code>"+g+"Scopes</code> <span class=\"where\">scopes</span>") {
			t.Errorf("entry %q lacks Scopes", entry)
		}
	}
	// Self-contained: nothing loaded or linked from elsewhere.
	for _, banned := range []string{" src=", " href=", "<link", "<iframe", "@import", "url("} {
		if strings.Contains(page, banned) {
			t.Errorf("page holds %q", banned)
		}
	}
}

// TestRulesPageDryRun: a dry-run rule is marked in its row and found by
// the search text "dry run".
func TestRulesPageDryRun(t *testing.T) {
	file := &descriptorpb.FileDescriptorProto{
		Name:        proto.String("shop/v1/shop.proto"),
		Package:     proto.String("shop.v1"),
		Syntax:      proto.String("proto3"),
		Dependency:  []string{annotations.File_protojwt_v1_annotations_proto.Path()},
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Request")}},
		Service:     []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("OrderService")}},
	}
	for name, rule := range map[string]*annotations.Rule{
		"Dry":      {DryRun: true, Scopes: []string{"orders:write"}},
		"Enforced": {Scopes: []string{"orders:write"}},
		// Names and literals are the API's: written as text, never markup.
		"Hostile": {Check: []*annotations.ClaimCheck{{
			Claim: []string{"<img src=x onerror=alert(1)>"},
			Test:  &annotations.ClaimCheck_Equals{Equals: &annotations.Match{Kind: &annotations.Match_StringValue{StringValue: "</script><script>alert(1)</script>"}}},
		}}},
	} {
		opts := &descriptorpb.MethodOptions{}
		proto.SetExtension(opts, annotations.E_Rule, rule)
		file.Service[0].Method = append(file.Service[0].Method, &descriptorpb.MethodDescriptorProto{
			Name: proto.String(name), InputType: proto.String(".shop.v1.Request"),
			OutputType: proto.String(".shop.v1.Request"), Options: opts,
		})
	}
	set := writeFile(t, "api.binpb", marshalSet(t, &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{
		protodesc.ToFileDescriptorProto(structpb.File_google_protobuf_struct_proto),
		protodesc.ToFileDescriptorProto(descriptorpb.File_google_protobuf_descriptor_proto),
		protodesc.ToFileDescriptorProto(annotations.File_protojwt_v1_annotations_proto), file,
	}}))
	path := filepath.Join(t.TempDir(), "rules.html")
	checkResult(t, cmd{}.run(t, "rules", "--html", path, set), exitOK, nil, nil)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, m := range rowRE.FindAllStringSubmatch(string(data), -1) {
		rows[m[1]] = m
	}
	dry, enforced := rows["/shop.v1.OrderService/Dry"], rows["/shop.v1.OrderService/Enforced"]
	if dry == nil || enforced == nil {
		t.Fatalf("rows %v", rows)
	}
	if dry[11] != `<span class="tag dry">dry run</span>` || !strings.HasSuffix(dry[2], " dry run") {
		t.Errorf("dry-run row: %q, search %q", dry[11], dry[2])
	}
	if enforced[11] != "" || strings.Contains(enforced[2], "dry run") {
		t.Errorf("enforced row: %q, search %q", enforced[11], enforced[2])
	}
	for _, raw := range []string{"<img", "<script>alert", "</script><script>"} {
		if strings.Contains(string(data), raw) {
			t.Errorf("page holds %q unescaped", raw)
		}
	}
	if hostile := rows["/shop.v1.OrderService/Hostile"]; hostile == nil || !strings.Contains(hostile[7], "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("hostile row %q", hostile)
	}
}

// TestRulesPageBadFile: a page that can't be written is an error.
func TestRulesPageBadFile(t *testing.T) {
	set := writeFile(t, "api.binpb", marshalSet(t, testpbSet(true)))
	checkResult(t, cmd{}.run(t, "rules", "--html", "/nonexistent/dir/rules.html", set), exitFailure, nil, []string{"no such file or directory"})
}

// TestRulesPageInBrowser loads the page in headless Chromium with a filter
// in its URL and reads the DOM its script left: only the rows that match
// are shown. It needs chromium; CI installs it, elsewhere it is skipped
// when absent.
func TestRulesPageInBrowser(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no chromium: CI installs it (apt-get install chromium)")
		}
		t.Skip("no chromium")
	}
	path, _ := rulesPageOf(t)
	for _, tt := range []struct {
		filter string
		shown  []string
		count  string
	}{
		{"orders-admin", []string{"/protojwt.test.v1.GuardedService/Checks", "/protojwt.test.v1.GuardedService/ChecksChat"}, "2 of "},
		{"public", []string{"/protojwt.test.v1.GuardedService/Public", "/protojwt.test.v1.GuardedService/PublicWatch"}, ""},
		{"fieldtop", []string{"/protojwt.test.v1.GuardedService/FieldTop"}, "1 of "},
	} {
		t.Run(tt.filter, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+t.TempDir(),
				"--dump-dom", "file://"+path+"#q="+tt.filter).Output()
			if err != nil {
				t.Fatalf("%s: %v", browser, err)
			}
			dom := string(out)
			shown := map[string]bool{}
			for _, m := range regexp.MustCompile(`<tr class="method" data-method="([^"]+)"[^>]*>`).FindAllStringSubmatch(dom, -1) {
				if !strings.Contains(m[0], "hidden") {
					shown[m[1]] = true
				}
			}
			if len(shown) == 0 {
				t.Fatalf("no row shown:\n%s", dom)
			}
			for _, want := range tt.shown {
				if !shown[want] {
					t.Errorf("%s hidden, shown %v", want, shown)
				}
			}
			for m := range shown {
				if !strings.Contains(strings.ToLower(m), "public") && tt.filter == "public" {
					t.Errorf("%s shown for %q", m, tt.filter)
				}
			}
			if tt.count != "" && !strings.Contains(dom, `<span id="count" role="status">`+tt.count) {
				t.Errorf("count not %q", tt.count)
			}
		})
	}
}

// TestRulesPageRuleSet: the rules of a rule set file are on the page, by
// the source that gave them, and in the literal index.
func TestRulesPageRuleSet(t *testing.T) {
	set := writeFile(t, "api.binpb", marshalSet(t, testpbSet(true)))
	ruleSet := writeFile(t, "rules.textpb", []byte(`methods { key: "/protojwt.test.v1.GuardedService/Undeclared" value { scopes: "audit:read" dry_run: true } }`))
	path := filepath.Join(t.TempDir(), "rules.html")
	checkResult(t, cmd{}.run(t, "rules", "--rule-set", ruleSet, "--html", path, set), exitOK, nil, nil)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var row []string
	for _, m := range rowRE.FindAllStringSubmatch(string(data), -1) {
		if m[1] == "/protojwt.test.v1.GuardedService/Undeclared" {
			row = m
		}
	}
	if row == nil {
		t.Fatal("no row")
	}
	if !strings.Contains(row[3], `<div class="src">rule set</div>`) || row[8] != "<code>audit:read</code>" || row[11] == "" {
		t.Errorf("row %q", row[3:])
	}
	if !strings.Contains(string(data), `<div class="literal" data-literal="audit:read">`) {
		t.Error("audit:read not in the index")
	}
}
