// Package osm reads OpenStreetMap data as a stream of features with tags and
// geometry: points from nodes, lines and polygons from ways, and polygons
// assembled from multipolygon and boundary relations.
//
// What to read is the caller's choice: a Classifier looks at each element's
// tags and says which shape it wants (or none). Everything else is skipped,
// and only the node locations that wanted ways need are kept in memory.
//
// A PBF file is read in three passes, each streaming the file once:
//
//  1. relations: the wanted relations and the ids of their member ways;
//  2. ways: the ids of the nodes that wanted ways and member ways use;
//  3. everything: node locations are stored for exactly those ids
//     (nodeStore, 16 bytes per node), points and ways are emitted as they
//     come, member ways are kept until the relations are assembled at the end.
//
// Memory is therefore bounded by the wanted part of the file (its node
// locations and the member ways of wanted relations), not by the file.
// Before the first pass, every block's sizes are checked against the PBF
// format's limits (MaxBlobSize, MaxBlobRawSize), inflating its data into
// nothing: a blob that declares or inflates to more is refused as ErrFormat
// before the decoder allocates it.
// OSM XML (.osm) is read the same way for small files and tests; one
// element of it may not pass MaxXMLElementBytes.
package osm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync/atomic"

	"github.com/paulmach/orb"
	posm "github.com/paulmach/osm"
	"github.com/paulmach/osm/osmpbf"
	"github.com/paulmach/osm/osmxml"
)

// Shape is the set of geometries a caller wants an element read as.
type Shape uint8

// Shapes a Classifier can ask for. They combine: a way classified Line|Area
// is read as a polygon when it is closed and as a line otherwise.
const (
	// Point: a node, read as its location.
	Point Shape = 1 << iota
	// Line: a way, read as a line string (missing nodes are dropped).
	Line
	// Area: a closed way read as a polygon, or a relation assembled into a
	// multipolygon from its member ways.
	Area
)

// Classifier decides from an element's type, id and tags which shape to read
// it as; 0 skips it. It is called from several goroutines at once and more
// than once per element, so it must be a pure function of its arguments.
type Classifier func(t posm.Type, id int64, tags posm.Tags) Shape

// Feature is one element read with its geometry: orb.Point for nodes,
// orb.LineString or orb.Polygon for ways, orb.MultiPolygon for relations.
type Feature struct {
	Type     posm.Type
	ID       int64
	Tags     posm.Tags
	Geometry orb.Geometry
}

// SourceID is the stable id of the element within OSM: "n123", "w123" or "r123".
func (f *Feature) SourceID() string { return SourceID(f.Type, f.ID) }

// SourceID formats the id of an OSM element as "n123", "w123" or "r123".
func SourceID(t posm.Type, id int64) string {
	prefix := "x"
	switch t {
	case posm.TypeNode:
		prefix = "n"
	case posm.TypeWay:
		prefix = "w"
	case posm.TypeRelation:
		prefix = "r"
	}
	return prefix + strconv.FormatInt(id, 10)
}

// Problem is a wanted element that could not be read, and why (a way with
// nodes missing from the extract, a relation whose rings do not close...).
type Problem struct {
	Type   posm.Type
	ID     int64
	Reason string
}

// SourceID is the id of the element the problem is about.
func (p Problem) SourceID() string { return SourceID(p.Type, p.ID) }

// Progress reports how far a read has come. Pass counts from 1 to Passes.
type Progress struct {
	Pass, Passes int
	Name         string // what the pass does: "relations", "ways", "features"
	BytesRead    int64  // of this pass
	BytesTotal   int64  // the file size, when known
	Features     int64  // emitted so far
}

// Options configure a read.
type Options struct {
	// Classify chooses the elements to read (required).
	Classify Classifier
	// Procs is the number of decoding goroutines; 0 means GOMAXPROCS.
	Procs int
	// Progress, when set, is called from the reading goroutine every few
	// thousand elements and at the end of each pass.
	Progress func(Progress)
	// Problem, when set, receives each wanted element that was skipped.
	Problem func(Problem)
}

// Stats describe a finished read.
type Stats struct {
	Nodes       int64 // nodes decoded in the last pass: the located and the tagged wanted ones
	Ways        int64 // ways decoded in the last pass: the wanted ones and relation members
	Relations   int64 // relations in the file
	Features    int64 // emitted
	Problems    int64 // wanted elements skipped
	StoredNodes int   // node locations kept in memory
	StoreBytes  int64 // memory of the node store
}

// ErrFormat marks input that is not a readable OSM file (empty, truncated,
// corrupted, or neither PBF nor XML). Match it with errors.Is.
var ErrFormat = errors.New("not a readable OSM file")

// Source is a file-like input that can be read more than once.
type Source interface {
	io.Reader
	io.Seeker
}

// Read streams src and calls emit for every wanted element with its
// geometry, nodes first, then ways, then relations. It stops at the first
// error emit returns and returns it. size is the length of src for progress
// (0 if unknown).
func Read(ctx context.Context, src Source, size int64, opts Options, emit func(*Feature) error) (Stats, error) {
	if opts.Classify == nil {
		return Stats{}, errors.New("osm read: no classifier")
	}
	if opts.Procs <= 0 {
		opts.Procs = runtime.GOMAXPROCS(0)
	}
	format, err := sniff(src)
	if err != nil {
		return Stats{}, err
	}
	if format == formatPBF {
		// Before the decoder allocates what a blob declares (see checkPBF).
		if err := checkPBF(ctx, src); err != nil {
			return Stats{}, err
		}
	}
	r := &reader{opts: opts, src: src, size: size, format: format, emit: emit,
		members: map[int64]struct{}{}, memberWays: map[int64]*MemberWay{}}
	if err := r.run(ctx); err != nil {
		return r.stats, err
	}
	r.stats.StoredNodes = r.nodes.len()
	r.stats.StoreBytes = r.nodes.bytes()
	return r.stats, nil
}

type fileFormat int

const (
	formatPBF fileFormat = iota
	formatXML
)

// sniff tells PBF from XML by the first bytes and rewinds.
func sniff(src Source) (fileFormat, error) {
	head := make([]byte, 64)
	n, err := io.ReadFull(src, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("read OSM file: %w", err)
	}
	head = head[:n]
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("rewind OSM file: %w", err)
	}
	switch {
	case n == 0:
		return 0, fmt.Errorf("%w: the file is empty", ErrFormat)
	case bytes.Contains(head, []byte("OSMHeader")):
		return formatPBF, nil
	case bytes.HasPrefix(bytes.TrimSpace(head), []byte("<")):
		return formatXML, nil
	default:
		return 0, fmt.Errorf("%w: neither OSM PBF (no OSMHeader block) nor OSM XML", ErrFormat)
	}
}

type relation struct {
	id      int64
	tags    posm.Tags
	members []posm.Member
}

type reader struct {
	opts   Options
	src    Source
	size   int64
	format fileFormat
	emit   func(*Feature) error
	stats  Stats

	relations  []relation
	members    map[int64]struct{}   // ids of the member ways of wanted relations (read-only after pass 1)
	memberWays map[int64]*MemberWay // their geometry, filled in pass 3
	nodes      nodeStore
	features   int64
}

const passes = 3

func (r *reader) run(ctx context.Context) error {
	// Pass 1: wanted relations and their member ways.
	err := r.pass(ctx, 1, "relations", scanOpts{relations: true}, func(o posm.Object) error {
		rel := o.(*posm.Relation)
		r.stats.Relations++
		if r.opts.Classify(posm.TypeRelation, int64(rel.ID), rel.Tags)&Area == 0 {
			return nil
		}
		var ms []posm.Member
		for _, m := range rel.Members {
			if m.Type == posm.TypeWay && isAreaRole(m.Role) {
				ms = append(ms, m)
				r.members[m.Ref] = struct{}{}
			}
		}
		r.relations = append(r.relations, relation{id: int64(rel.ID), tags: rel.Tags, members: ms})
		return nil
	})
	if err != nil {
		return err
	}
	// Pass 2: the nodes wanted ways use.
	err = r.pass(ctx, 2, "ways", scanOpts{ways: true, filterWay: r.wayWanted}, func(o posm.Object) error {
		w := o.(*posm.Way)
		for _, n := range w.Nodes {
			r.nodes.need(int64(n.ID))
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.nodes.seal()
	// Pass 3: node locations, points, ways; relations at the end.
	err = r.pass(ctx, 3, "features", scanOpts{nodes: true, ways: true, filterNode: r.nodeWanted, filterWay: r.wayWanted},
		func(o posm.Object) error {
			switch e := o.(type) {
			case *posm.Node:
				return r.node(e)
			case *posm.Way:
				return r.way(e)
			}
			return nil
		})
	if err != nil {
		return err
	}
	for _, rel := range r.relations {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.relation(rel); err != nil {
			return err
		}
	}
	r.report(passes, "features", r.size)
	return nil
}

// isAreaRole: outer, inner and empty roles make rings; other roles of
// boundary relations (subarea, admin_centre, label) do not.
func isAreaRole(role string) bool {
	return role == "outer" || role == "inner" || role == ""
}

// wayWanted is the pass-2 and pass-3 filter: the way is wanted by tag or is
// a member of a wanted relation. Called concurrently; members is only read.
func (r *reader) wayWanted(w *posm.Way) bool {
	if r.opts.Classify(posm.TypeWay, int64(w.ID), w.Tags)&(Line|Area) != 0 {
		return true
	}
	_, member := r.members[int64(w.ID)]
	return member
}

// nodeWanted is the pass-3 filter. Called concurrently; the store is sealed.
func (r *reader) nodeWanted(n *posm.Node) bool {
	if r.nodes.wanted(int64(n.ID)) {
		return true
	}
	return len(n.Tags) > 0 && r.opts.Classify(posm.TypeNode, int64(n.ID), n.Tags)&Point != 0
}

func (r *reader) node(n *posm.Node) error {
	r.stats.Nodes++
	if i := r.nodes.index(int64(n.ID)); i >= 0 {
		r.nodes.set(i, n.Lon, n.Lat)
	}
	if len(n.Tags) == 0 || r.opts.Classify(posm.TypeNode, int64(n.ID), n.Tags)&Point == 0 {
		return nil
	}
	return r.send(&Feature{Type: posm.TypeNode, ID: int64(n.ID), Tags: n.Tags, Geometry: orb.Point{n.Lon, n.Lat}})
}

func (r *reader) way(w *posm.Way) error {
	r.stats.Ways++
	id := int64(w.ID)
	shape := r.opts.Classify(posm.TypeWay, int64(w.ID), w.Tags) & (Line | Area)
	_, member := r.members[id]
	if shape == 0 && !member {
		return nil
	}
	ids := make([]int64, 0, len(w.Nodes))
	pts := make([]orb.Point, 0, len(w.Nodes))
	var lost []int64
	for _, wn := range w.Nodes {
		p, ok := r.nodes.get(int64(wn.ID))
		if !ok {
			lost = append(lost, int64(wn.ID))
			continue
		}
		ids = append(ids, int64(wn.ID))
		pts = append(pts, p)
	}
	if member && len(lost) == 0 {
		// Incomplete member ways are not kept: the relations using them
		// report them missing.
		r.memberWays[id] = &MemberWay{ID: id, Nodes: ids, Points: pts}
	}
	if shape == 0 {
		return nil
	}
	closed := len(w.Nodes) >= 4 && w.Nodes[0].ID == w.Nodes[len(w.Nodes)-1].ID
	switch {
	case shape&Area != 0 && closed:
		if len(lost) > 0 {
			r.problem(posm.TypeWay, id, fmt.Sprintf("area way with %d of %d nodes missing from the file (first: node %d)", len(lost), len(w.Nodes), lost[0]))
			return nil
		}
		return r.send(&Feature{Type: posm.TypeWay, ID: id, Tags: w.Tags, Geometry: orb.Polygon{orient(orb.Ring(pts), true)}})
	case shape&Line != 0:
		if len(pts) < 2 {
			r.problem(posm.TypeWay, id, fmt.Sprintf("line with %d located node(s) of %d", len(pts), len(w.Nodes)))
			return nil
		}
		return r.send(&Feature{Type: posm.TypeWay, ID: id, Tags: w.Tags, Geometry: orb.LineString(pts)})
	default:
		r.problem(posm.TypeWay, id, "area way is not closed")
		return nil
	}
}

func (r *reader) relation(rel relation) error {
	ways := make([]MemberWay, 0, len(rel.members))
	for _, m := range rel.members {
		w := r.memberWays[m.Ref]
		if w == nil {
			r.problem(posm.TypeRelation, rel.id, fmt.Sprintf("member way %d is missing from the file or incomplete", m.Ref))
			return nil
		}
		mw := *w
		mw.Role = m.Role
		ways = append(ways, mw)
	}
	mp, err := Assemble(ways)
	if err != nil {
		r.problem(posm.TypeRelation, rel.id, err.Error())
		return nil
	}
	return r.send(&Feature{Type: posm.TypeRelation, ID: rel.id, Tags: rel.tags, Geometry: mp})
}

func (r *reader) send(f *Feature) error {
	r.features++
	r.stats.Features++
	return r.emit(f)
}

func (r *reader) problem(t posm.Type, id int64, reason string) {
	r.stats.Problems++
	if r.opts.Problem != nil {
		r.opts.Problem(Problem{Type: t, ID: id, Reason: reason})
	}
}

func (r *reader) report(pass int, name string, read int64) {
	if r.opts.Progress != nil {
		r.opts.Progress(Progress{Pass: pass, Passes: passes, Name: name, BytesRead: read, BytesTotal: r.size, Features: r.features})
	}
}

// scanOpts selects the element types a pass decodes, with optional filters
// that run in the decoding goroutines.
type scanOpts struct {
	nodes, ways, relations bool
	filterNode             func(*posm.Node) bool
	filterWay              func(*posm.Way) bool
}

// pass streams the file once from the start and hands the selected elements
// to fn in file order.
func (r *reader) pass(ctx context.Context, n int, name string, so scanOpts, fn func(posm.Object) error) error {
	if _, err := r.src.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind OSM file: %w", err)
	}
	counter := &countingReader{r: r.src}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sc posm.Scanner
	switch r.format {
	case formatPBF:
		s := osmpbf.New(ctx, counter, r.opts.Procs)
		s.SkipNodes, s.SkipWays, s.SkipRelations = !so.nodes, !so.ways, !so.relations
		s.FilterNode, s.FilterWay = so.filterNode, so.filterWay
		sc = s
	default:
		sc = osmxml.New(ctx, newXMLGuard(bufio.NewReaderSize(counter, 1<<20), MaxXMLElementBytes))
	}
	defer sc.Close()
	r.report(n, name, 0)
	var seen int
	for sc.Scan() {
		o := sc.Object()
		switch e := o.(type) {
		case *posm.Node:
			if !so.nodes || (so.filterNode != nil && r.format == formatXML && !so.filterNode(e)) {
				continue
			}
		case *posm.Way:
			if !so.ways || (so.filterWay != nil && r.format == formatXML && !so.filterWay(e)) {
				continue
			}
		case *posm.Relation:
			if !so.relations {
				continue
			}
		default:
			continue
		}
		if err := fn(o); err != nil {
			return err
		}
		if seen++; seen%8192 == 0 {
			r.report(n, name, counter.n.Load())
		}
	}
	if err := sc.Err(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("%w: pass %d (%s) stopped after %d bytes: %v", ErrFormat, n, name, counter.n.Load(), err)
	}
	r.report(n, name, counter.n.Load())
	return nil
}

// countingReader counts the bytes read through it (read by the decoder
// goroutines, reported from the scanning one).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
