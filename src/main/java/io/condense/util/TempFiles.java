package io.condense.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Temporary files that must not outlive an interrupted run: a shutdown hook (Ctrl-C, SIGTERM) deletes every file
 * registered and not yet released, so an interrupted write leaves no partial output behind.
 */
public final class TempFiles {
    private static final Set<Path> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(TempFiles::deleteAll, "condense-temp-cleanup"));
    }

    private TempFiles() {}

    /** Deletes {@code p} at JVM shutdown unless {@link #release released} first. */
    public static Path register(Path p) {
        LIVE.add(p);
        return p;
    }

    /** The file was renamed into place or deleted: no cleanup needed. */
    public static void release(Path p) {
        LIVE.remove(p);
    }

    /** The files currently registered (for tests). */
    public static Set<Path> live() {
        return Set.copyOf(LIVE);
    }

    static void deleteAll() {
        for (Path p : LIVE) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // best effort at shutdown
            }
        }
        LIVE.clear();
    }
}
