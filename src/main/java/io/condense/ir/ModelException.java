package io.condense.ir;

/**
 * A problem with a model or its inputs that the user can fix: a corrupt file, an unknown op,
 * a wrong shape. The message is one line that names the problem; the CLI prints it and exits non-zero.
 */
public class ModelException extends RuntimeException {
    public ModelException(String message) { super(message); }

    public ModelException(String message, Throwable cause) { super(message, cause); }
}
