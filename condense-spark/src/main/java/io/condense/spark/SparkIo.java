package io.condense.spark;

import io.condense.data.Idx;
import io.condense.ir.ModelException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reading inputs from and writing results to any Hadoop-compatible path (local files, hdfs://, s3a://, ...). */
public final class SparkIo {
    private SparkIo() {}

    static boolean isLocal(String p) {
        URI u = URI.create(p.replace(" ", "%20"));
        return u.getScheme() == null || u.getScheme().equals("file");
    }

    /** A local copy of {@code path} (the path itself when it is local). */
    public static Path local(Configuration conf, String path) {
        if (isLocal(path)) {
            Path p = Path.of(path.startsWith("file:") ? URI.create(path).getPath() : path);
            if (!Files.exists(p)) throw new ModelException("no such file: " + path);
            return p;
        }
        try {
            org.apache.hadoop.fs.Path hp = new org.apache.hadoop.fs.Path(path);
            FileSystem fs = hp.getFileSystem(conf);
            if (!fs.exists(hp)) throw new ModelException("no such file: " + path);
            Path tmp = io.condense.util.TempFiles.register(Files.createTempFile("condense-spark-", "-" + hp.getName()));
            try (InputStream in = fs.open(hp)) {
                Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            return tmp;
        } catch (IOException e) {
            throw new ModelException("cannot read " + path + ": " + e.getMessage());
        }
    }

    /** Writes {@code bytes} to {@code path} completely or not at all (local: atomic rename; Hadoop: write then rename). */
    public static void write(Configuration conf, String path, byte[] bytes) {
        if (isLocal(path)) {
            Path p = Path.of(path.startsWith("file:") ? URI.create(path).getPath() : path);
            io.condense.onnx.ModelFiles.writeAtomically(p, out -> out.write(bytes));
            return;
        }
        try {
            org.apache.hadoop.fs.Path hp = new org.apache.hadoop.fs.Path(path);
            FileSystem fs = hp.getFileSystem(conf);
            org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path(hp.getParent(), "." + hp.getName() + ".tmp");
            try (OutputStream out = fs.create(tmp, true)) {
                out.write(bytes);
            }
            fs.delete(hp, false);
            if (!fs.rename(tmp, hp)) throw new IOException("rename of " + tmp + " failed");
        } catch (IOException e) {
            throw new ModelException("cannot write " + path + ": " + e.getMessage());
        }
    }

    /** Non-blank lines, stripped (as {@code TextData.readLines}), in file order. */
    public static JavaRDD<String> textLines(SparkSession spark, String path, int minPartitions) {
        return spark.sparkContext().textFile(path, minPartitions).toJavaRDD().map(s -> s.startsWith("\uFEFF") ? s.substring(1).strip() : s.strip())
                .filter(s -> !s.isEmpty());
    }

    /** The records of an IDX file (images as float[] of raw values), read on the driver. */
    public static Idx.Array idx(Configuration conf, String path) { return Idx.read(local(conf, path)); }

    public static List<float[]> records(Idx.Array a, float scale) {
        int rs = a.recordSize();
        List<float[]> l = new ArrayList<>(a.count());
        for (int i = 0; i < a.count(); i++) {
            float[] r = java.util.Arrays.copyOfRange(a.data(), i * rs, (i + 1) * rs);
            if (scale != 1) for (int j = 0; j < r.length; j++) r[j] *= scale;
            l.add(r);
        }
        return l;
    }

    /**
     * One float[] per row of a Parquet column: {@code binary} (float32 little-endian, a serialized tensor's raw data;
     * image bytes are read as unsigned 8-bit pixels with {@code --pixels}) or {@code array<float|double|int>}.
     */
    public static JavaRDD<float[]> parquetColumn(SparkSession spark, String path, String column, boolean pixels, float scale) {
        return spark.read().parquet(path).select(column).toJavaRDD().map(r -> toFloats(r, pixels, scale));
    }

    static float[] toFloats(Row r, boolean pixels, float scale) {
        Object v = r.get(0);
        float[] f;
        if (v instanceof byte[] b) {
            if (pixels) {
                f = new float[b.length];
                for (int i = 0; i < b.length; i++) f[i] = (b[i] & 0xff);
            } else {
                if (b.length % 4 != 0) throw new ModelException("a binary tensor cell of " + b.length + " bytes is not float32 data");
                f = new float[b.length / 4];
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
            }
        } else if (v instanceof scala.collection.Seq<?> s) {
            f = new float[s.size()];
            for (int i = 0; i < f.length; i++) f[i] = ((Number) s.apply(i)).floatValue();
        } else {
            throw new ModelException("Parquet column holds " + (v == null ? "null" : v.getClass().getSimpleName()) + "; expected binary or array of numbers");
        }
        if (scale != 1) for (int i = 0; i < f.length; i++) f[i] *= scale;
        return f;
    }
}
