package io.pgrelay.protocol;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pgrelay.protocol.message.Authentication;
import io.pgrelay.protocol.message.BackendKeyData;
import io.pgrelay.protocol.message.CommandComplete;
import io.pgrelay.protocol.message.DataRow;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.Message;
import io.pgrelay.protocol.message.ParameterStatus;
import io.pgrelay.protocol.message.PasswordMessage;
import io.pgrelay.protocol.message.Query;
import io.pgrelay.protocol.message.SASLInitialResponse;
import io.pgrelay.protocol.message.SASLResponse;

import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes the decoders of the frames pgrelay parses: what a client sends before and after login, and what a server
 * sends during login and as the rows of pgrelay's own queries. Input layout: byte 0 picks the decoder, the rest is
 * the frame body (the header is built, as the frame splitter guarantees a consistent one).
 *
 * <p>Properties: only {@link ProtocolException} escapes; the frame's indexes are left alone (frames are inspected,
 * then forwarded); a decoded message re-encodes to a frame that decodes to the same message.
 */
class MessageDecodeFuzzTest {
    private record Decoder(byte type, Function<ByteBuf, ? extends Message> decode, boolean roundTrips) {
    }

    private static final Decoder[] DECODERS = {
        new Decoder(MessageType.QUERY, Query::decode, true),
        new Decoder(MessageType.PASSWORD, PasswordMessage::decode, true),
        new Decoder(MessageType.PASSWORD, SASLInitialResponse::decode, false), // byte[] field: no record equality
        new Decoder(MessageType.PASSWORD, SASLResponse::decode, false),
        new Decoder(MessageType.ERROR_RESPONSE, ErrorResponse::decode, true),
        new Decoder(MessageType.NOTICE_RESPONSE, ErrorResponse::decode, true),
        new Decoder(MessageType.COMMAND_COMPLETE, CommandComplete::decode, true),
        new Decoder(MessageType.BACKEND_KEY_DATA, BackendKeyData::decode, true),
        new Decoder(MessageType.PARAMETER_STATUS, ParameterStatus::decode, true),
        new Decoder(MessageType.DATA_ROW, DataRow::decode, true),
        new Decoder(MessageType.AUTHENTICATION, Authentication::decode, false),
    };

    @FuzzTest
    void decode(byte[] data) {
        if (data.length < 1) {
            return;
        }
        Decoder d = DECODERS[(data[0] & 0xff) % DECODERS.length];
        ByteBuf frame = Unpooled.buffer(data.length + 4);
        frame.writeByte(d.type).writeInt(data.length - 1 + 4).writeBytes(data, 1, data.length - 1);
        Message m;
        try {
            m = d.decode.apply(frame);
        } catch (ProtocolException e) {
            return;
        } finally {
            assertThat(frame.readerIndex()).isZero();
            assertThat(frame.writerIndex()).isEqualTo(data.length + 4);
        }
        assertThat(m).isNotNull();
        ByteBuf again = Unpooled.buffer();
        m.encode(again);
        assertThat(Frames.bodyLength(again)).isEqualTo(again.readableBytes() - Frames.HEADER_LENGTH);
        Message decodedAgain = d.decode.apply(again);
        if (d.roundTrips) {
            assertThat(decodedAgain).isEqualTo(m);
        } else {
            assertThat(decodedAgain.getClass()).isEqualTo(m.getClass());
        }
    }
}
