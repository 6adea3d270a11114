package io.condense.prune.structured;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Every tensor slice that must shrink together when one channel is removed (Torch-Pruning's DepGraph group):
 * the weights that produce the channel ({@link Role#SOURCE}), the per-channel parameters it passes through
 * (biases, BatchNorm, constants of elementwise ops: {@link Role#PARAM}) and the weights that read it
 * ({@link Role#SINK}). Channel indices are {@code 0..size-1}; a member maps its range
 * {@code [groupStart, groupStart+length)} to positions {@code axisOffset + (c - groupStart) * block + b} of one
 * axis of one constant.
 */
public final class PruningGroup {
    public enum Role { SOURCE, PARAM, SINK }

    /** One slice of a constant that belongs to this group. */
    public record Member(String value, int axis, int axisOffset, int groupStart, int length, int block, Role role,
                         String node) {}

    private final int id;
    private final int size;
    final List<Member> members = new ArrayList<>();
    final List<String> sourceNodes = new ArrayList<>();
    final Set<String> reasons = new LinkedHashSet<>();

    PruningGroup(int id, int size) {
        this.id = id;
        this.size = size;
    }

    public int id() { return id; }

    /** Number of channels. */
    public int size() { return size; }

    public List<Member> members() { return List.copyOf(members); }

    /** Nodes whose output channels this group is (Conv, Gemm, MatMul with constant weights). */
    public List<String> sourceNodes() { return List.copyOf(sourceNodes); }

    /** True when channels can be removed: no op that cannot be reasoned about touches the group. */
    public boolean prunable() { return reasons.isEmpty() && size > 1; }

    /** Why the group cannot be pruned (empty when it can). */
    public List<String> reasons() {
        if (reasons.isEmpty() && size <= 1) return List.of("single channel");
        return List.copyOf(reasons);
    }

    @Override
    public String toString() {
        return "group " + id + " (" + size + " channels, sources " + sourceNodes + (prunable() ? "" : ", unprunable: " + reasons()) + ")";
    }
}
