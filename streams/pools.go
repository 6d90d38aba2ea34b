package streams

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// restorePools lets the restore consumer reuse fetched records and
// decompression buffers (franz-go's WithPools): a restore copies every
// record into a Pebble batch and recycles it at once, so the garbage a
// large restore makes stays small.
type restorePools struct {
	recs  sync.Pool
	bytes sync.Pool
}

func (p *restorePools) GetRecords(n int) []kgo.Record {
	if v, ok := p.recs.Get().(*[]kgo.Record); ok && cap(*v) >= n {
		return (*v)[:0]
	}
	return make([]kgo.Record, 0, n)
}

func (p *restorePools) PutRecords(r []kgo.Record) { r = r[:0]; p.recs.Put(&r) }

func (p *restorePools) GetDecompressBytes(compressed []byte, _ kgo.CompressionCodecType) []byte {
	if v, ok := p.bytes.Get().(*[]byte); ok && cap(*v) >= 4*len(compressed) {
		return (*v)[:0]
	}
	return make([]byte, 0, 4*len(compressed))
}

func (p *restorePools) PutDecompressBytes(b []byte) { b = b[:0]; p.bytes.Put(&b) }
