package provenance

import (
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Names of the attestation's formats.
const (
	// PayloadType is the DSSE payload type of an in-toto statement.
	PayloadType = "application/vnd.in-toto+json"
	// PredicateType is SLSA provenance v1.
	PredicateType = "https://slsa.dev/provenance/v1"
	// BuildType says what runway's provenance records: a registration of a
	// project's version (its image, bundle and entities).
	BuildType = "https://runway.dev/provenance/register/v1"
	// BuilderID names runway as the builder; the version travels in
	// builder.version.runway.
	BuilderID = "https://github.com/runway-ci/runway"
)

// Subject kinds (Facts.Kind): what an attestation vouches for.
const (
	KindImage  = "image"
	KindBundle = "bundle"
)

// Subject is one digest an attestation vouches for.
type Subject struct {
	Name   string
	Digest v1.Hash
}

// Facts are what runway records about how a subject was made.
type Facts struct {
	// Kind is KindImage, KindBundle, or an entity kind (task, workflow,
	// launchplan).
	Kind    string
	Project string
	// Entity is "kind/name@version" for an entity.
	Entity string
	Domain string
	// Source is the git repository (URL or path); Commit its SHA.
	Source string
	Commit string
	// BaseImage and BaseDigest name the dependency image's base.
	BaseImage  string
	BaseDigest string
	// DependencyHash is the hash of the project's dependency files (the
	// image tag's hash).
	DependencyHash string
	// Image and Bundle are what a task runs: the image pinned by digest
	// and the bundle's identity digest.
	Image  string
	Bundle string
	// RunwayVersion is the runway that made the subject.
	RunwayVersion string
	// Started and Finished bound the registration (zero: unknown).
	Started, Finished time.Time
}

// Statement renders the in-toto statement (v1) with a SLSA provenance v1
// predicate for subjects, as JSON.
func Statement(subjects []Subject, f Facts) ([]byte, error) {
	if len(subjects) == 0 {
		return nil, fmt.Errorf("an attestation needs a subject")
	}
	ext := map[string]any{"kind": f.Kind, "project": f.Project}
	put := func(m map[string]any, k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put(ext, "entity", f.Entity)
	put(ext, "domain", f.Domain)
	put(ext, "source", f.Source)
	put(ext, "commit", f.Commit)
	extStruct, err := structpb.NewStruct(ext)
	if err != nil {
		return nil, err
	}
	var deps []*intoto.ResourceDescriptor
	if f.Commit != "" {
		deps = append(deps, &intoto.ResourceDescriptor{Name: "source", Uri: sourceURI(f.Source, f.Commit), Digest: map[string]string{"gitCommit": f.Commit}})
	}
	if d, ok := sha256Of(f.BaseDigest); ok {
		deps = append(deps, &intoto.ResourceDescriptor{Name: "base-image", Uri: ociURI(f.BaseImage), Digest: map[string]string{"sha256": d}})
	}
	if f.DependencyHash != "" {
		deps = append(deps, &intoto.ResourceDescriptor{Name: "dependency-files", Digest: map[string]string{"sha256": f.DependencyHash}})
	}
	if d, ok := sha256Of(imageDigest(f.Image)); ok {
		deps = append(deps, &intoto.ResourceDescriptor{Name: "image", Uri: ociURI(f.Image), Digest: map[string]string{"sha256": d}})
	}
	if d, ok := sha256Of(f.Bundle); ok {
		deps = append(deps, &intoto.ResourceDescriptor{Name: "bundle", Digest: map[string]string{"sha256": d}})
	}
	meta := &slsa.BuildMetadata{}
	if !f.Started.IsZero() {
		meta.StartedOn = timestamppb.New(f.Started)
	}
	if !f.Finished.IsZero() {
		meta.FinishedOn = timestamppb.New(f.Finished)
	}
	prov := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{BuildType: BuildType, ExternalParameters: extStruct, ResolvedDependencies: deps},
		RunDetails: &slsa.RunDetails{
			Builder:  &slsa.Builder{Id: BuilderID, Version: map[string]string{"runway": f.RunwayVersion}},
			Metadata: meta,
		},
	}
	if err := prov.Validate(); err != nil {
		return nil, fmt.Errorf("provenance predicate: %w", err)
	}
	pj, err := protojson.Marshal(prov)
	if err != nil {
		return nil, err
	}
	pred := &structpb.Struct{}
	if err := pred.UnmarshalJSON(pj); err != nil {
		return nil, err
	}
	st := &intoto.Statement{Type: intoto.StatementTypeUri, PredicateType: PredicateType, Predicate: pred}
	for _, s := range subjects {
		st.Subject = append(st.Subject, &intoto.ResourceDescriptor{Name: s.Name, Digest: map[string]string{s.Digest.Algorithm: s.Digest.Hex}})
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("in-toto statement: %w", err)
	}
	return protojson.MarshalOptions{UseProtoNames: false}.Marshal(st)
}

// Parsed is what runway reads back from a statement.
type Parsed struct {
	Subjects      []Subject `json:"subjects"`
	PredicateType string    `json:"predicateType"`
	BuildType     string    `json:"buildType,omitempty"`
	Kind          string    `json:"kind,omitempty"`
	Project       string    `json:"project,omitempty"`
	Entity        string    `json:"entity,omitempty"`
	Domain        string    `json:"domain,omitempty"`
	Source        string    `json:"source,omitempty"`
	Commit        string    `json:"commit,omitempty"`
	RunwayVersion string    `json:"runwayVersion,omitempty"`
	// Dependencies are the predicate's resolved dependencies by name
	// (source, base-image, dependency-files, image, bundle): "sha256:<hex>"
	// or "gitCommit:<sha>".
	Dependencies map[string]string `json:"dependencies,omitempty"`
	Started      time.Time         `json:"started,omitzero"`
}

// ParseStatement reads an in-toto statement (v1, or v0.1 as older tools
// write) and, when its predicate is SLSA provenance v1, runway's fields.
func ParseStatement(b []byte) (*Parsed, error) {
	st := &intoto.Statement{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("the payload is not an in-toto statement: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("the payload is not a valid in-toto statement: %w", err)
	}
	p := &Parsed{PredicateType: st.PredicateType, Dependencies: map[string]string{}}
	for _, s := range st.Subject {
		algs := make([]string, 0, len(s.Digest))
		for a := range s.Digest {
			algs = append(algs, a)
		}
		slices.Sort(algs)
		for _, a := range algs {
			p.Subjects = append(p.Subjects, Subject{Name: s.Name, Digest: v1.Hash{Algorithm: a, Hex: s.Digest[a]}})
		}
	}
	if st.PredicateType != PredicateType || st.Predicate == nil {
		return p, nil
	}
	pj, err := st.Predicate.MarshalJSON()
	if err != nil {
		return nil, err
	}
	prov := &slsa.Provenance{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(pj, prov); err != nil {
		return nil, fmt.Errorf("the SLSA provenance predicate does not parse: %w", err)
	}
	if bd := prov.GetBuildDefinition(); bd != nil {
		p.BuildType = bd.GetBuildType()
		ext := bd.GetExternalParameters().AsMap()
		str := func(k string) string { s, _ := ext[k].(string); return s }
		p.Kind, p.Project, p.Entity, p.Domain, p.Source, p.Commit = str("kind"), str("project"), str("entity"), str("domain"), str("source"), str("commit")
		for _, d := range bd.GetResolvedDependencies() {
			for a, h := range d.GetDigest() {
				p.Dependencies[d.GetName()] = a + ":" + h
			}
		}
	}
	if rd := prov.GetRunDetails(); rd != nil {
		p.RunwayVersion = rd.GetBuilder().GetVersion()["runway"]
		if ts := rd.GetMetadata().GetStartedOn(); ts != nil {
			p.Started = ts.AsTime()
		}
	}
	return p, nil
}

// Names reports whether the statement's subjects include digest.
func (p *Parsed) Names(digest v1.Hash) bool {
	for _, s := range p.Subjects {
		if s.Digest == digest {
			return true
		}
	}
	return false
}

func sourceURI(source, commit string) string {
	if source == "" {
		return ""
	}
	if strings.Contains(source, "://") {
		return "git+" + source + "@" + commit
	}
	return ""
}

func ociURI(ref string) string {
	if ref == "" {
		return ""
	}
	return "oci://" + ref
}

// imageDigest is the digest of "repo@sha256:...".
func imageDigest(ref string) string {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		return ref[i+1:]
	}
	return ""
}

func sha256Of(d string) (string, bool) {
	h, err := v1.NewHash(d)
	if err != nil || h.Algorithm != "sha256" {
		return "", false
	}
	return h.Hex, true
}
