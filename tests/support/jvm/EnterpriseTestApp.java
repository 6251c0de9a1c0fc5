import java.nio.file.Files;
import java.nio.file.Paths;

import org.apache.spark.sql.SparkSession;

/**
 * A small JVM application for cluster deploy mode tests.
 *
 * Arguments: MODE OUTPUT [SECONDS]. "count" counts 1000 rows on the cluster and writes the count to OUTPUT;
 * "fail" exits with status 3; "sleep" writes "started" to OUTPUT and sleeps SECONDS, or less: it ends as soon as
 * the file OUTPUT.release exists (a test's event, not a clock).
 */
public class EnterpriseTestApp {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String output = args[1];
        if (mode.equals("fail")) {
            System.err.println("EnterpriseTestApp failing on purpose");
            System.exit(3);
        }
        if (mode.equals("sleep")) {
            Files.writeString(Paths.get(output), "started");
            long end = System.currentTimeMillis() + Long.parseLong(args[2]) * 1000L;
            while (System.currentTimeMillis() < end && !Files.exists(Paths.get(output + ".release"))) {
                Thread.sleep(100);
            }
            return;
        }
        SparkSession spark = SparkSession.builder().appName("EnterpriseTestApp").getOrCreate();
        long rows = spark.range(1000).count();
        spark.stop();
        Files.writeString(Paths.get(output), Long.toString(rows));
    }
}
