// Package jobstate is the vocabulary the runtimes (connect, mirror, streams)
// and the job supervisor in ops share about a running job: its State, named
// as Kafka Connect names job and task states; a Meter, a counter whose rate
// advances by itself; and one Backoff for retries and restarts. It imports
// nothing of kdeck, so every runtime may use it.
//
//	var in jobstate.Meter
//	in.Add(int64(len(batch)))             // hot path: one atomic add
//	in.Tick(time.Now())                   // once per batch: cheap, samples at most every 250ms
//	perSec := in.Rate(time.Now())         // records/s over the last second or so
//
//	b := jobstate.Backoff{Min: time.Second, Max: 30 * time.Second, HealthyAfter: time.Minute}
//	for {
//		began := time.Now()
//		err := run(ctx)
//		...
//		b.Ran(time.Since(began))      // a healthy run resets the delay
//		if jobstate.Sleep(ctx, b.Next()) != nil {
//			return
//		}
//	}
package jobstate
