package tiles

import (
	"sync"
	"sync/atomic"
)

// sizedCache is a map with a cap on the bytes its values hold, evicting by
// CLOCK (second chance): a value read since it last came up for eviction is
// kept for another round. It is split into shards with a lock each, and a
// read takes only a shard's read lock, so concurrent hits do not queue.
type sizedCache[K comparable, V any] struct {
	shards  []cacheShard[K, V]
	shardOf func(K) uint64
	capEach int64
}

type cacheShard[K comparable, V any] struct {
	mu    sync.RWMutex
	items map[K]*cacheItem[V]
	queue []K // insertion order for the clock hand; may hold keys already gone
	head  int
	bytes int64
}

type cacheItem[V any] struct {
	v    V
	size int64
	ref  atomic.Bool
}

// newSizedCache makes a cache holding at most capBytes (split evenly over
// shards); capBytes <= 0 makes a cache that keeps nothing.
func newSizedCache[K comparable, V any](capBytes int64, shards int, shardOf func(K) uint64) *sizedCache[K, V] {
	c := &sizedCache[K, V]{shards: make([]cacheShard[K, V], shards), shardOf: shardOf, capEach: capBytes / int64(shards)}
	for i := range c.shards {
		c.shards[i].items = map[K]*cacheItem[V]{}
	}
	return c
}

func (c *sizedCache[K, V]) shard(k K) *cacheShard[K, V] {
	return &c.shards[c.shardOf(k)%uint64(len(c.shards))]
}

// Get returns the value under k.
func (c *sizedCache[K, V]) Get(k K) (V, bool) {
	sh := c.shard(k)
	sh.mu.RLock()
	it := sh.items[k]
	sh.mu.RUnlock()
	if it == nil {
		var zero V
		return zero, false
	}
	if !it.ref.Load() {
		it.ref.Store(true)
	}
	return it.v, true
}

// Put stores v under k, accounting size bytes, and evicts until the shard
// is within its cap. A value larger than a shard's cap is not stored.
func (c *sizedCache[K, V]) Put(k K, v V, size int64) {
	if size > c.capEach {
		return
	}
	sh := c.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old := sh.items[k]; old != nil {
		sh.bytes -= old.size
	} else {
		sh.queue = append(sh.queue, k)
	}
	sh.items[k] = &cacheItem[V]{v: v, size: size}
	sh.bytes += size
	for sh.bytes > c.capEach && sh.head < len(sh.queue) {
		key := sh.queue[sh.head]
		sh.head++
		it := sh.items[key]
		switch {
		case it == nil:
			// evicted or purged already
		case it.ref.Load() && key != k:
			it.ref.Store(false)
			sh.queue = append(sh.queue, key)
		default:
			delete(sh.items, key)
			sh.bytes -= it.size
		}
	}
	if sh.head > 1024 && sh.head*2 > len(sh.queue) {
		sh.queue = append(sh.queue[:0], sh.queue[sh.head:]...)
		sh.head = 0
	}
}

// DeleteFunc removes every value for which drop is true.
func (c *sizedCache[K, V]) DeleteFunc(drop func(K, V) bool) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, it := range sh.items {
			if drop(k, it.v) {
				delete(sh.items, k)
				sh.bytes -= it.size
			}
		}
		if len(sh.items) == 0 {
			sh.queue, sh.head = sh.queue[:0], 0
		}
		sh.mu.Unlock()
	}
}

// Stats reports the values held and their bytes.
func (c *sizedCache[K, V]) Stats() (items int, bytes int64) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		items += len(sh.items)
		bytes += sh.bytes
		sh.mu.RUnlock()
	}
	return items, bytes
}
