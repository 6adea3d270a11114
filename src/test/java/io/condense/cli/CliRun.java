package io.condense.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One in-process run of the condense command line: exit code, stdout and stderr. */
public record CliRun(int rc, String out, String err) {
    public static CliRun of(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int rc = Main.execute(args, new PrintWriter(o, true), new PrintWriter(e, true));
        return new CliRun(rc, o.toString(), e.toString());
    }
}
