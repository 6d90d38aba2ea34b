// WindowedCount is the Kafka Streams side of kdeck's stream-job benchmark
// (scripts/bench-streams.sh): a windowed count per key, tumbling one-minute
// windows with ten seconds of grace, exactly once (exactly_once_v2), state in
// a local RocksDB store backed by a compacted changelog topic.
//
//   java -cp 'lib/*:classes' WindowedCount BOOTSTRAP INPUT OUTPUT APP_ID STATE_DIR
//
// It prints "restored=N restore_ms=R running_ms=M" when it reaches RUNNING:
// N records restored from changelogs since start, R the time from the first
// restore start to the last restore end, M the time from start to RUNNING.
// It runs until SIGTERM, when it closes the streams client and leaves the
// group (so that a restart need not wait out the session timeout).
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.StateRestoreListener;

public class WindowedCount {
    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: WindowedCount BOOTSTRAP INPUT OUTPUT APP_ID STATE_DIR");
            System.exit(2);
        }
        long start = System.nanoTime();
        Properties p = new Properties();
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[3]);
        p.put(StreamsConfig.STATE_DIR_CONFIG, args[4]);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 2);
        p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

        StreamsBuilder b = new StreamsBuilder();
        b.stream(args[1], Consumed.with(Serdes.String(), Serdes.String()))
            .groupByKey()
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), Duration.ofSeconds(10)))
            .count()
            .toStream()
            .map((w, n) -> KeyValue.pair(w.key() + "@" + w.window().start(), n))
            .to(args[2], Produced.with(Serdes.String(), Serdes.Long()));

        KafkaStreams ks = new KafkaStreams(b.build(), p);
        AtomicLong restored = new AtomicLong();
        AtomicLong firstStart = new AtomicLong();
        AtomicLong lastEnd = new AtomicLong();
        ks.setGlobalStateRestoreListener(new StateRestoreListener() {
            public void onRestoreStart(TopicPartition tp, String store, long from, long to) {
                firstStart.compareAndSet(0, System.nanoTime());
            }
            public void onBatchRestored(TopicPartition tp, String store, long end, long n) {}
            public void onRestoreEnd(TopicPartition tp, String store, long total) {
                restored.addAndGet(total);
                lastEnd.set(System.nanoTime());
            }
        });
        CountDownLatch done = new CountDownLatch(1);
        ks.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.RUNNING) {
                long r = firstStart.get() == 0 ? 0 : (lastEnd.get() - firstStart.get()) / 1_000_000;
                System.out.printf("restored=%d restore_ms=%d running_ms=%d%n", restored.get(), r, (System.nanoTime() - start) / 1_000_000);
                System.out.flush();
            }
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                done.countDown();
            }
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            ks.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP).withTimeout(Duration.ofSeconds(20)));
            done.countDown();
        }));
        ks.start();
        done.await();
    }
}
