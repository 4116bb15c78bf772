package io.pgrelay.proxy.it;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import ch.qos.logback.core.AppenderBase;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * Everything pgrelay logs (io.pgrelay, down to DEBUG) while open: formatted messages, their arguments and thrown
 * exceptions with causes, as one text per event. Closing detaches it and restores the level.
 */
final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {
    private final List<String> lines = new ArrayList<>();
    private final Logger logger;
    private final Level level;

    private LogCapture() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        logger = context.getLogger("io.pgrelay");
        level = logger.getLevel();
        setContext(context);
        setName("capture");
        start();
        logger.setLevel(Level.DEBUG);
        logger.addAppender(this);
    }

    static LogCapture open() {
        return new LogCapture();
    }

    @Override
    protected synchronized void append(ILoggingEvent e) {
        StringBuilder b = new StringBuilder(e.getLevel() + " " + e.getLoggerName() + ": " + e.getFormattedMessage());
        if (e.getArgumentArray() != null) {
            for (Object a : e.getArgumentArray()) {
                b.append(" | arg: ").append(a);
            }
        }
        for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) {
            b.append(" | thrown: ").append(t.getClassName()).append(": ").append(t.getMessage());
            for (StackTraceElementProxy s : t.getStackTraceElementProxyArray()) {
                b.append(' ').append(s.getSTEAsString());
            }
        }
        lines.add(b.toString());
    }

    synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    /** The events whose text contains {@code needle}. */
    List<String> containing(String needle) {
        return lines().stream().filter(l -> l.contains(needle)).toList();
    }

    @Override
    public void close() {
        logger.detachAppender(this);
        logger.setLevel(level);
        stop();
    }
}
