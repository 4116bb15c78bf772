package io.pgrelay.docker;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/** For ordered steps of one scenario: once a step fails, the later ones are skipped instead of failing confusingly. */
final class StopAfterFailure implements TestWatcher, ExecutionCondition {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(StopAfterFailure.class);

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        context.getParent().ifPresent(p -> p.getStore(NS).put("failed", context.getDisplayName()));
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (context.getTestMethod().isEmpty()) {
            return ConditionEvaluationResult.enabled("class");
        }
        Object failed = context.getParent().map(p -> p.getStore(NS).get("failed")).orElse(null);
        return failed == null ? ConditionEvaluationResult.enabled("no step failed")
                : ConditionEvaluationResult.disabled("skipped: the earlier step " + failed + " failed");
    }
}
