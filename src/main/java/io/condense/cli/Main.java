package io.condense.cli;

import io.condense.ir.ModelException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The {@code condense} command line: {@code info}, {@code run} and {@code demo}.
 *
 * <p>Exit codes: 0 success, 1 a problem with a model or data file (or any other failure), 2 bad usage.
 * Every failure prints one line {@code condense: error: ...} on stderr; {@code --verbose} adds the stack trace.
 */
@Command(name = "condense", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Model compression engine: inspect, run, train and quantize ONNX models.",
        subcommands = {InfoCommand.class, RunCommand.class, DemoCommand.class, TrainCommand.class, EvalCommand.class,
                QuantizeCommand.class, Int4Command.class, QatCommand.class, PruneCommand.class, SensitivityCommand.class,
                CompressCommand.class, BenchCommand.class, ExportTrtCommand.class, DistillCommand.class,
                DistillDataCommand.class, ConvertCommand.class, CommandLine.HelpCommand.class},
        synopsisSubcommandLabel = "COMMAND",
        footer = {"", "Examples:",
                "  condense demo                               compress MiniLM-L6 to INT8, table + report",
                "  condense info model.onnx                    inputs, outputs, ops, parameters",
                "  condense run model.onnx -i x=x.npy -o out/  run; writes out/<output>.pb",
                "", "Exit codes: 0 success, 1 model or data error, 2 usage error."})
public final class Main implements Runnable {
    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_USAGE = 2;

    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "Print stack traces of errors.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing command: info, run or demo");
    }

    public static void main(String[] args) {
        // JavaCPP warns on stderr about version skew between its jars (harmless here); keep stderr to one line
        if (!java.util.Arrays.asList(args).contains("--verbose") && System.getProperty("org.bytedeco.javacpp.logger") == null) {
            System.setProperty("org.bytedeco.javacpp.logger", "slf4j");
        }
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line with the given streams and returns the exit code (for tests and {@link #main}). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = commandLine(out, err);
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            err.println("condense: error: out of memory (" + e.getMessage() + "); raise the heap with "
                    + "CONDENSE_JAVA_OPTS=-Xmx<size>");
            err.flush();
            return EXIT_FAILURE;
        } catch (Error e) {
            // e.g. native libraries that fail to load (UnsatisfiedLinkError, ExceptionInInitializerError)
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();
            err.println("condense: error: " + e.getClass().getSimpleName() + ": " + oneLine(String.valueOf(root.getMessage()))
                    + (java.util.Arrays.asList(args).contains("--verbose") ? "" : " (run with --verbose for the stack trace)"));
            if (java.util.Arrays.asList(args).contains("--verbose")) e.printStackTrace(err);
            err.flush();
            return EXIT_FAILURE;
        }
    }

    /** The configured picocli command line writing to {@code out} and {@code err}. */
    public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter e = ex.getCommandLine().getErr();
            e.println("condense: error: " + oneLine(ex.getMessage()) + hint(ex.getCommandLine()));
            if (verbose(ex.getCommandLine())) ex.printStackTrace(e);
            e.flush();
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter e = commandLine.getErr();
            e.println("condense: error: " + describe(ex));
            if (verbose(commandLine)) ex.printStackTrace(e);
            e.flush();
            return EXIT_FAILURE;
        });
        return cl;
    }

    private static String hint(CommandLine cl) {
        return " (see " + cl.getCommandSpec().qualifiedName() + " --help)";
    }

    private static boolean verbose(CommandLine cl) {
        for (CommandLine c = cl; c != null; c = c.getParent()) {
            if (c.getCommand() instanceof Main m) return m.verbose;
        }
        return false;
    }

    /** One line for any failure: our own messages as they are, others with their type. */
    static String describe(Throwable ex) {
        if (ex instanceof ModelException) return oneLine(ex.getMessage());
        if (ex instanceof UncheckedIOException u) ex = u.getCause();
        if (ex instanceof java.nio.file.NoSuchFileException n) return "file not found: " + n.getFile();
        if (ex instanceof java.nio.file.AccessDeniedException a) return "permission denied: " + a.getFile();
        if (ex instanceof IOException) return "I/O error: " + oneLine(String.valueOf(ex.getMessage()));
        String m = ex.getMessage();
        return "internal error: " + ex.getClass().getSimpleName() + (m == null ? "" : ": " + oneLine(m))
                + " (run with --verbose for the stack trace)";
    }

    static String oneLine(String m) {
        if (m == null) return "unknown error";
        m = m.strip();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl).strip();
    }

    /** Reads the version Maven filtered into {@code version.properties}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
                if (in != null) p.load(in);
            } catch (IOException ignored) {
                // fall through to "unknown"
            }
            String v = p.getProperty("version", "unknown");
            return new String[] {"condense " + v + " (Java " + System.getProperty("java.version") + ", "
                    + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ")"};
        }
    }
}
