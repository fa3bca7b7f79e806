package experiments

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/padim-go/padim/datasets"
)

func TestSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want []string // substrings of the error; nil: valid
	}{
		{"method padim", MethodPaDiM.Validate(), nil},
		{"method spade", MethodSPADE.Validate(), nil},
		{"method empty", Method("").Validate(), []string{`method ""`, "padim, spade"}},
		{"method capitalised", Method("PaDiM").Validate(), []string{`method "PaDiM"`, "padim, spade"}},
		{"reduce random", ReduceRandom.Validate(), nil},
		{"reduce pca", ReducePCA.Validate(), nil},
		{"reduce none", ReduceNone.Validate(), nil},
		{"reduce empty", Reduction("").Validate(), nil},
		{"reduce unknown", Reduction("svd").Validate(), []string{`reduce "svd"`, "random, pca, none", "empty means random"}},
		{"combine joint", CombineJoint.Validate(), nil},
		{"combine sum", CombineSum.Validate(), nil},
		{"combine empty", Combination("").Validate(), nil},
		{"combine unknown", Combination("max").Validate(), []string{`combine "max"`, "joint, sum", "empty means joint"}},
		{"kind mvtec", KindMVTec.Validate(), nil},
		{"kind rd-mvtec", KindRdMVTec.Validate(), nil},
		{"kind magnetic-tile", KindMagneticTile.Validate(), nil},
		{"kind stc", KindSTC.Validate(), nil},
		{"kind synthetic", KindSynthetic.Validate(), nil},
		{"kind empty", DatasetKind("").Validate(), []string{`kind ""`, "mvtec, rd-mvtec, magnetic-tile, stc, synthetic"}},
		{"kind folder", DatasetKind("folder").Validate(), []string{`kind "folder"`}},
	} {
		if tc.want == nil {
			if tc.err != nil {
				t.Errorf("%s: %v", tc.name, tc.err)
			}
			continue
		}
		if tc.err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(tc.err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, tc.err, w)
			}
		}
	}
}

// The empty Reduce and Combine mean random and joint in what the code
// computes too, not only in Validate: the estimate of a run with empty
// settings is the estimate with the defaults spelled out.
func TestEmptySettingsMeanTheDefaults(t *testing.T) {
	spelled := Run{Dataset: DatasetSpec{Kind: KindMVTec, Category: "bottle"},
		Model: ModelSpec{Method: MethodPaDiM, Backbone: "resnet18", Layers: r18Layers, Dims: 100, Reduce: ReduceRandom, Combine: CombineJoint}}
	empty := spelled
	empty.Model.Reduce, empty.Model.Combine = "", ""
	a, err := EstimateRun(spelled, 200, 80, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EstimateRun(empty, 200, 80, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("estimate with empty reduce/combine %+v, with random/joint %+v", b, a)
	}
	sum := spelled
	sum.Model.Combine = CombineSum
	if c, err := EstimateRun(sum, 200, 80, 224, 224); err != nil || c == a {
		t.Errorf("sum estimate %+v (%v) equals the joint one: the comparison is blind", c, err)
	}
}

func TestDeclaredTablesValidate(t *testing.T) {
	for _, o := range []Options{{SyntheticCategories: []string{"a"}}, {Quick: true, SyntheticCategories: []string{"a"}}} {
		n := 0
		for _, tb := range Tables(o) {
			if err := tb.Validate(); err != nil {
				t.Errorf("quick=%v: %v", o.Quick, err)
			}
			n += len(tb.Runs)
		}
		if n == 0 {
			t.Fatalf("quick=%v: no runs declared", o.Quick)
		}
		if _, err := Lookup(o, nil); err != nil {
			t.Errorf("quick=%v: Lookup: %v", o.Quick, err)
		}
	}
	bad := Table{Name: "t", Runs: []Run{
		{Row: "ok", Dataset: DatasetSpec{Kind: KindSTC}, Model: spadeR18()},
		{Row: "typo", Dataset: DatasetSpec{Kind: KindSTC}, Model: ModelSpec{Method: MethodPaDiM, Reduce: "PCA"}},
	}}
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "table t: typo | stc: model: reduce \"PCA\"") {
		t.Errorf("bad table: %v", err)
	}
}

// The specs' JSON, their config hashes and their cache keys are what the
// cache and the task files were written with before the settings had
// types. The literals were printed by the code of commit bd68669, where
// the fields were plain strings: they pin compatibility with existing
// caches, so they must not be recomputed when this test fails.
func TestSpecJSONUnchanged(t *testing.T) {
	for _, tc := range []struct {
		run           Run
		json, hash, k string
	}{
		{Run{Row: "PaDiM-R18-Rd100", Dataset: DatasetSpec{Kind: KindMVTec, Category: "bottle"},
			Model: ModelSpec{Method: MethodPaDiM, Backbone: "resnet18", Layers: []string{"layer1", "layer2", "layer3"}, Dims: 100, Reduce: ReduceRandom, Seed: 1024, Combine: CombineJoint}},
			`{"row":"PaDiM-R18-Rd100","dataset":{"kind":"mvtec","category":"bottle"},"model":{"method":"padim","backbone":"resnet18","layers":["layer1","layer2","layer3"],"dims":100,"reduce":"random","seed":1024,"combine":"joint"}}`,
			"c11de2f222dadec6fe84b67ec94d6a79acc21e7107ab7556b1c2586a81ed913b", "a84cbf961df6c56bd7cbe416"},
		{Run{Row: "pca-sum", Dataset: DatasetSpec{Kind: KindRdMVTec, Category: "grid", Seed: 3, Limit: 12},
			Model: ModelSpec{Method: MethodPaDiM, Backbone: "resnet18", Layers: []string{"layer1", "layer2"}, Dims: 10, Reduce: ReducePCA, Combine: CombineSum}},
			`{"row":"pca-sum","dataset":{"kind":"rd-mvtec","category":"grid","seed":3,"limit":12},"model":{"method":"padim","backbone":"resnet18","layers":["layer1","layer2"],"dims":10,"reduce":"pca","combine":"sum"}}`,
			"c74fa73fe7c722646813297facfdd053a44d239a9b86b87b076a78c88ff29b42", "7f9d59fd1b00c684847cd00f"},
		{Run{Row: "none-default", Dataset: DatasetSpec{Kind: KindMagneticTile},
			Model: ModelSpec{Method: MethodPaDiM, Backbone: "resnet18", Layers: []string{"layer2"}, Reduce: ReduceNone}},
			`{"row":"none-default","dataset":{"kind":"magnetic-tile"},"model":{"method":"padim","backbone":"resnet18","layers":["layer2"],"reduce":"none"}}`,
			"5f9171344d2603550ea5a638969ec1f79041279ad0da8e75da3a3a548aaf009d", "84fb1e3cd15f3f008d8476a6"},
		{Run{Row: "SPADE", Dataset: DatasetSpec{Kind: KindSTC, Category: "01"}, Timing: true,
			Model: ModelSpec{Method: MethodSPADE, Backbone: "wide_resnet50_2", Layers: []string{"layer1", "layer2", "layer3"}, K: 50, PoolLayer: "layer4", RandomWeights: 1}},
			`{"row":"SPADE","dataset":{"kind":"stc","category":"01"},"model":{"method":"spade","backbone":"wide_resnet50_2","layers":["layer1","layer2","layer3"],"k":50,"pool_layer":"layer4","random_weights":1},"timing":true}`,
			"4a4f4d72121d0fa45bbef48963bd6510a356f616acd3c2bd575e6e2f5542c7d4", "d4d34fdb613fe55a977eb46c"},
		{Run{Row: "syn", Dataset: DatasetSpec{Kind: KindSynthetic, Category: "dots"},
			Model: ModelSpec{Method: MethodPaDiM, Backbone: "resnet18", Layers: []string{"layer1"}}},
			`{"row":"syn","dataset":{"kind":"synthetic","category":"dots"},"model":{"method":"padim","backbone":"resnet18","layers":["layer1"]}}`,
			"508c75da95f971d2cc53dad6fad27f2b1a33e654ffccc60f7166ba5b4ba04c49", "aad501ff95c8f3236de027fb"},
	} {
		b, err := json.Marshal(tc.run)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.json {
			t.Errorf("%s: JSON\n %s\nwant\n %s", tc.run.Row, b, tc.json)
		}
		if h := tc.run.configHash(); h != tc.hash {
			t.Errorf("%s: config hash %s, want %s", tc.run.Row, h, tc.hash)
		}
		if k := key(tc.run, "fp"); k != tc.k {
			t.Errorf("%s: cache key %s, want %s", tc.run.Row, k, tc.k)
		}
		var back Run
		if err := json.Unmarshal(b, &back); err != nil || back.configHash() != tc.hash {
			t.Errorf("%s: decoded back to %+v (%v)", tc.run.Row, back, err)
		}
	}
	// Model files record Policy's JSON: same literal origin as above.
	for _, tc := range []struct {
		pre  datasets.Preprocess
		json string
	}{
		{datasets.PaperPreprocess(), `{"mode":"crop","resize":256,"crop":224,"filter":"lanczos"}`},
		{datasets.Preprocess{Height: 256, Width: 256, Filter: datasets.Bilinear}, `{"mode":"squash","height":256,"width":256,"filter":"bilinear"}`},
	} {
		b, err := json.Marshal(Policy(tc.pre))
		if err != nil || string(b) != tc.json {
			t.Errorf("policy of %+v: %s (%v), want %s", tc.pre, b, err, tc.json)
		}
	}
}

func TestReadTaskFileRefusesUnknownSettings(t *testing.T) {
	dir := t.TempDir()
	good := `{"kind":"mvtec","category":"bottle"}`
	model := func(method, reduce, combine string) string {
		return `{"method":"` + method + `","backbone":"resnet18","layers":["layer1"],"reduce":"` + reduce + `","combine":"` + combine + `"}`
	}
	for _, tc := range []struct {
		name, dataset, model string
		want                 []string // nil: accepted
	}{
		{"valid", good, model("padim", "pca", "sum"), nil},
		{"empty reduce and combine", good, model("padim", "", ""), nil},
		{"spade", good, model("spade", "", ""), nil},
		{"unknown method", good, model("padlm", "", ""), []string{`method "padlm"`, "padim, spade"}},
		{"unknown reduce", good, model("padim", "PCA", ""), []string{`reduce "PCA"`, "random, pca, none"}},
		{"unknown combine", good, model("padim", "", "add"), []string{`combine "add"`, "joint, sum"}},
		{"unknown kind", `{"kind":"mvtec-ad","category":"bottle"}`, model("padim", "", ""), []string{`kind "mvtec-ad"`, "rd-mvtec"}},
		{"missing kind", `{"category":"bottle"}`, model("padim", "", ""), []string{`kind ""`}},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
		body := `{"version":1,"tasks":[{"index":0,"group":"g","runs":[{"table":"t","key":"k","run":{"row":"r","dataset":` + tc.dataset + `,"model":` + tc.model + `}}]}]}`
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := ReadTaskFile(path)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else if m := f.Tasks[0].Runs[0].Run.Model; m.Backbone != "resnet18" || m.Method == "" {
				t.Errorf("%s: parsed model %+v", tc.name, m)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range append([]string{path, "task 0"}, tc.want...) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
	}
}
