package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;

import java.util.List;

/** NegotiateProtocolVersion: the newest minor version pgrelay speaks and the _pq_ options it did not recognise. */
public record NegotiateProtocolVersion(int newestMinorVersion, List<String> unrecognizedOptions) implements Message {
    public NegotiateProtocolVersion {
        unrecognizedOptions = List.copyOf(unrecognizedOptions);
    }

    @Override
    public void encode(ByteBuf out) {
        int len = Frames.begin(out, MessageType.NEGOTIATE_PROTOCOL_VERSION);
        out.writeInt(newestMinorVersion);
        out.writeInt(unrecognizedOptions.size());
        for (String option : unrecognizedOptions) {
            Frames.writeCString(out, option);
        }
        Frames.finish(out, len);
    }
}
