package io.pgrelay.proxy.gss;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.message.Message;

/** AuthenticationGSSContinue: a GSSAPI token for the client during GSS authentication (code 8). */
public record GssContinue(byte[] token) implements Message {
    /** AuthenticationGSS (code 7): the start of GSS authentication; the client answers with its first token. */
    public static final Message START = out -> Frames.finish(out, begin(out, 7));

    public GssContinue {
        token = token.clone();
    }

    @Override
    public byte[] token() {
        return token.clone();
    }

    @Override
    public void encode(ByteBuf out) {
        int len = begin(out, 8);
        out.writeBytes(token);
        Frames.finish(out, len);
    }

    private static int begin(ByteBuf out, int code) {
        int len = Frames.begin(out, MessageType.AUTHENTICATION);
        out.writeInt(code);
        return len;
    }
}
