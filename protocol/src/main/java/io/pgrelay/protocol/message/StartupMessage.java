package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.ProtocolException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** StartupMessage: protocol version and the name/value pairs (user, database, options, GUCs, _pq_.*). */
public record StartupMessage(int protocolVersion, Map<String, String> parameters) implements Message {
    /** Protocol 3.0. */
    public static final int PROTOCOL_3_0 = 3 << 16;

    public StartupMessage {
        parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    }

    public int majorVersion() {
        return protocolVersion >>> 16;
    }

    public int minorVersion() {
        return protocolVersion & 0xffff;
    }

    public String parameter(String name) {
        return parameters.get(name);
    }

    /** Decodes what follows the length and version. */
    public static StartupMessage decodeBody(int protocolVersion, ByteBuf body) {
        Map<String, String> params = new LinkedHashMap<>();
        // Versions other than 3.x are refused by the session with a proper error; their bodies are not parsed.
        if ((protocolVersion >>> 16) == 3) {
            while (true) {
                if (!body.isReadable()) {
                    throw new ProtocolException("invalid startup packet layout: expected terminator as last byte");
                }
                String name = Frames.readCString(body);
                if (name.isEmpty()) {
                    break;
                }
                if (!body.isReadable()) {
                    throw new ProtocolException("invalid startup packet layout: parameter \"" + name
                            + "\" has no value");
                }
                String value = Frames.readCString(body);
                if (params.put(name, value) != null) {
                    throw new ProtocolException("invalid startup packet: parameter \"" + name + "\" given twice");
                }
            }
            Frames.expectEnd(body, "startup packet");
        }
        return new StartupMessage(protocolVersion, params);
    }

    @Override
    public void encode(ByteBuf out) {
        int start = out.writerIndex();
        out.writeInt(0);
        out.writeInt(protocolVersion);
        for (Map.Entry<String, String> e : parameters.entrySet()) {
            Frames.writeCString(out, e.getKey());
            Frames.writeCString(out, e.getValue());
        }
        out.writeByte(0);
        out.setInt(start, out.writerIndex() - start);
    }

    @Override
    public String toString() {
        Map<String, String> shown = new LinkedHashMap<>(parameters);
        shown.remove("password"); // never sent by libpq, but keep logs safe if someone does
        return "StartupMessage[" + majorVersion() + "." + minorVersion() + " " + shown + "]";
    }
}
