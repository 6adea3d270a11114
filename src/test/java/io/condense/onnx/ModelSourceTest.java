package io.condense.onnx;

import io.condense.TestData;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Models inside jars and the tokenizer that comes with a model. */
class ModelSourceTest {
    private static void zip(Path jar, String... entries) throws Exception {
        byte[] model = Files.readAllBytes(TestData.require("onnx/node/test_relu/model.onnx"));
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(jar))) {
            for (String e : entries) {
                z.putNextEntry(new ZipEntry(e));
                z.write(e.endsWith(".onnx") ? model : "{\"model\":{}}".getBytes());
                z.closeEntry();
            }
        }
    }

    @Test
    void jarWithOneModelAndItsTokenizer(@TempDir Path tmp) throws Exception {
        Path jar = tmp.resolve("m.jar");
        zip(jar, "META-INF/MANIFEST.MF", "models/relu.onnx", "models/relu-tokenizer.json");
        ModelSource.Loaded m = ModelSource.load(jar);
        assertEquals(jar + "!/models/relu.onnx", m.description());
        assertEquals(jar + "!/models/relu-tokenizer.json", m.tokenizerOrigin());
        assertEquals("x", m.graph().inputs().get(0).name());
        Graph g = OnnxImporter.load(jar); // every command loads through this
        assertEquals("Relu", g.nodes().get(0).opType());
        assertEquals(jar + "!/models/relu-tokenizer.json", ModelSource.findTokenizer(jar).origin());

        Path two = tmp.resolve("two.jar");
        zip(two, "a.onnx", "b/c.onnx");
        ModelException e = assertThrows(ModelException.class, () -> OnnxImporter.load(two));
        assertTrue(e.getMessage().contains("several .onnx entries (a.onnx, b/c.onnx)"), e.getMessage());
        Path none = tmp.resolve("none.zip");
        zip(none, "readme.txt");
        e = assertThrows(ModelException.class, () -> OnnxImporter.load(none));
        assertTrue(e.getMessage().endsWith("holds no .onnx entry"), e.getMessage());
        Path bad = tmp.resolve("bad.jar");
        Files.writeString(bad, "not a zip");
        e = assertThrows(ModelException.class, () -> OnnxImporter.load(bad));
        assertTrue(e.getMessage().contains("not a valid jar/zip archive"), e.getMessage());
    }

    @Test
    void tokenizerBesideAnOnnxFile(@TempDir Path tmp) throws Exception {
        Path m = tmp.resolve("enc.onnx");
        Files.copy(TestData.require("onnx/node/test_relu/model.onnx"), m);
        assertNull(ModelSource.findTokenizer(m));
        Files.writeString(tmp.resolve("tokenizer.json"), "{}");
        assertEquals(tmp.resolve("tokenizer.json").toString(), ModelSource.findTokenizer(m).origin());
        Files.writeString(tmp.resolve("enc-tokenizer.json"), "{}");
        assertEquals(tmp.resolve("enc-tokenizer.json").toString(), ModelSource.load(m).tokenizerOrigin(), "the one named after the model first");
    }

    @Test
    void theMiniLmMavenJar() throws Exception {
        java.net.URL u = ModelSourceTest.class.getResource("/all-minilm-l6-v2.onnx");
        org.junit.jupiter.api.Assumptions.assumeTrue(u != null && u.getProtocol().equals("jar"), "MiniLM jar not on the class path: skipping");
        String s = u.getPath();
        Path jar = Path.of(java.net.URI.create(s.substring(0, s.indexOf("!/"))));
        ModelSource.Loaded m = ModelSource.load(jar);
        assertEquals(3, m.graph().inputs().size());
        assertTrue(m.description().endsWith("!/all-minilm-l6-v2.onnx"), m.description());
        assertTrue(m.tokenizerOrigin().endsWith("!/all-minilm-l6-v2-tokenizer.json"), m.tokenizerOrigin());
        assertTrue(new String(m.tokenizerJson(), 0, 200).contains("\"version\""));
    }
}
