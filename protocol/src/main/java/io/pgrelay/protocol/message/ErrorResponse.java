package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * ErrorResponse (and, with {@link #notice}, NoticeResponse): identified fields, keyed by their code byte
 * ('S' severity, 'V' non-localized severity, 'C' SQLSTATE, 'M' message, 'D' detail, 'H' hint...).
 */
public record ErrorResponse(byte type, Map<Character, String> fields) implements Message {
    public static final char SEVERITY = 'S';
    public static final char SEVERITY_NONLOCALIZED = 'V';
    public static final char CODE = 'C';
    public static final char MESSAGE = 'M';
    public static final char DETAIL = 'D';
    public static final char HINT = 'H';

    public ErrorResponse {
        fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    }

    public static ErrorResponse fatal(String sqlState, String message) {
        return of(MessageType.ERROR_RESPONSE, "FATAL", sqlState, message, null);
    }

    public static ErrorResponse error(String sqlState, String message) {
        return of(MessageType.ERROR_RESPONSE, "ERROR", sqlState, message, null);
    }

    public static ErrorResponse notice(String severity, String sqlState, String message) {
        return of(MessageType.NOTICE_RESPONSE, severity, sqlState, message, null);
    }

    public static ErrorResponse of(byte type, String severity, String sqlState, String message, String hint) {
        Map<Character, String> f = new LinkedHashMap<>();
        f.put(SEVERITY, severity);
        f.put(SEVERITY_NONLOCALIZED, severity);
        f.put(CODE, sqlState);
        f.put(MESSAGE, message);
        if (hint != null) {
            f.put(HINT, hint);
        }
        return new ErrorResponse(type, f);
    }

    public ErrorResponse withHint(String hint) {
        Map<Character, String> f = new LinkedHashMap<>(fields);
        f.put(HINT, hint);
        return new ErrorResponse(type, f);
    }

    /** Decodes an 'E' or 'N' frame. */
    public static ErrorResponse decode(ByteBuf frame) {
        ByteBuf body = Frames.body(frame);
        Map<Character, String> f = new LinkedHashMap<>();
        while (body.isReadable()) {
            byte code = body.readByte();
            if (code == 0) {
                break;
            }
            f.put((char) code, Frames.readCString(body));
        }
        return new ErrorResponse(Frames.type(frame), f);
    }

    public String severity() {
        String v = fields.get(SEVERITY_NONLOCALIZED);
        return v != null ? v : fields.get(SEVERITY);
    }

    public String sqlState() {
        return fields.get(CODE);
    }

    public String message() {
        return fields.get(MESSAGE);
    }

    public boolean isFatal() {
        String s = severity();
        return "FATAL".equals(s) || "PANIC".equals(s);
    }

    @Override
    public void encode(ByteBuf out) {
        int len = Frames.begin(out, type);
        for (Map.Entry<Character, String> e : fields.entrySet()) {
            out.writeByte(e.getKey());
            Frames.writeCString(out, e.getValue());
        }
        out.writeByte(0);
        Frames.finish(out, len);
    }

    @Override
    public String toString() {
        return severity() + " " + sqlState() + " " + message();
    }
}
