package io.condense.onnx;

import io.condense.ir.ModelException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** File helpers with user-facing errors: reading whole files, writing through a temp file and a rename. */
public final class ModelFiles {
    /** Largest file read whole into memory (protobuf messages are limited to 2 GiB). */
    public static final long MAX_BYTES = Integer.MAX_VALUE - 8;

    private ModelFiles() {}

    public interface Writer {
        void write(OutputStream out) throws IOException;
    }

    public static byte[] readAll(Path file, String what) {
        try {
            if (Files.isDirectory(file)) throw new ModelException(what + " is a directory: " + file);
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw new ModelException(what + " " + file + " is " + size + " bytes; files over 2 GiB must keep "
                        + "their weights in external data");
            }
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ModelException(what + " not found: " + file);
        } catch (IOException e) {
            throw new ModelException("cannot read " + what + " " + file + ": " + e.getMessage());
        }
    }

    /**
     * Writes {@code file} completely or not at all: the content goes to a temporary file in the same folder,
     * which is renamed over the target only after it was written and closed.
     */
    public static void writeAtomically(Path file, Writer writer) {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = io.condense.util.TempFiles.register(Files.createTempFile(dir, "." + abs.getFileName(), ".tmp"));
            try { // createTempFile makes the file owner-only; outputs get the usual rw-r--r--
                Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException | IOException ignored) {
                // not a POSIX file system
            }
            try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                writer.write(out);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            io.condense.util.TempFiles.release(tmp);
            tmp = null;
        } catch (IOException e) {
            throw new ModelException("cannot write " + file + ": " + e.getMessage());
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                    io.condense.util.TempFiles.release(tmp);
                } catch (IOException ignored) {
                    // best effort: the temp file is hidden and named after the target
                }
            }
        }
    }
}
