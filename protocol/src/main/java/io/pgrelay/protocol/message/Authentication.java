package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.ProtocolException;

import java.util.ArrayList;
import java.util.List;

/** The Authentication* request family ('R' messages), told apart by their int32 code. */
public sealed interface Authentication extends Message {
    int OK = 0;
    int CLEARTEXT_PASSWORD = 3;
    int MD5_PASSWORD = 5;
    int GSS = 7;
    int GSS_CONTINUE = 8;
    int SSPI = 9;
    int SASL = 10;
    int SASL_CONTINUE = 11;
    int SASL_FINAL = 12;

    static Authentication decode(ByteBuf frame) {
        ByteBuf body = Frames.body(frame);
        if (body.readableBytes() < 4) {
            throw new ProtocolException("invalid Authentication message: " + body.readableBytes() + " bytes");
        }
        int code = body.readInt();
        switch (code) {
            case OK:
                return AuthenticationOk.INSTANCE;
            case CLEARTEXT_PASSWORD:
                return AuthenticationCleartextPassword.INSTANCE;
            case MD5_PASSWORD:
                if (body.readableBytes() != 4) {
                    throw new ProtocolException("invalid AuthenticationMD5Password message");
                }
                return new AuthenticationMD5Password(ByteBufUtil.getBytes(body));
            case SASL: {
                List<String> mechanisms = new ArrayList<>();
                while (true) {
                    String m = Frames.readCString(body);
                    if (m.isEmpty()) {
                        break;
                    }
                    mechanisms.add(m);
                }
                return new AuthenticationSASL(mechanisms);
            }
            case SASL_CONTINUE:
                return new AuthenticationSASLContinue(ByteBufUtil.getBytes(body));
            case SASL_FINAL:
                return new AuthenticationSASLFinal(ByteBufUtil.getBytes(body));
            default:
                return new AuthenticationUnsupported(code);
        }
    }

    private static int begin(ByteBuf out, int code) {
        int len = Frames.begin(out, MessageType.AUTHENTICATION);
        out.writeInt(code);
        return len;
    }

    final class AuthenticationOk implements Authentication {
        public static final AuthenticationOk INSTANCE = new AuthenticationOk();

        private AuthenticationOk() {
        }

        @Override
        public void encode(ByteBuf out) {
            Frames.finish(out, begin(out, OK));
        }
    }

    final class AuthenticationCleartextPassword implements Authentication {
        public static final AuthenticationCleartextPassword INSTANCE = new AuthenticationCleartextPassword();

        private AuthenticationCleartextPassword() {
        }

        @Override
        public void encode(ByteBuf out) {
            Frames.finish(out, begin(out, CLEARTEXT_PASSWORD));
        }
    }

    record AuthenticationMD5Password(byte[] salt) implements Authentication {
        public AuthenticationMD5Password {
            salt = salt.clone();
        }

        @Override
        public byte[] salt() {
            return salt.clone();
        }

        @Override
        public void encode(ByteBuf out) {
            int len = begin(out, MD5_PASSWORD);
            out.writeBytes(salt);
            Frames.finish(out, len);
        }
    }

    record AuthenticationSASL(List<String> mechanisms) implements Authentication {
        public AuthenticationSASL {
            mechanisms = List.copyOf(mechanisms);
        }

        @Override
        public void encode(ByteBuf out) {
            int len = begin(out, SASL);
            for (String m : mechanisms) {
                Frames.writeCString(out, m);
            }
            out.writeByte(0);
            Frames.finish(out, len);
        }
    }

    record AuthenticationSASLContinue(byte[] data) implements Authentication {
        public AuthenticationSASLContinue {
            data = data.clone();
        }

        @Override
        public byte[] data() {
            return data.clone();
        }

        @Override
        public void encode(ByteBuf out) {
            int len = begin(out, SASL_CONTINUE);
            out.writeBytes(data);
            Frames.finish(out, len);
        }
    }

    record AuthenticationSASLFinal(byte[] data) implements Authentication {
        public AuthenticationSASLFinal {
            data = data.clone();
        }

        @Override
        public byte[] data() {
            return data.clone();
        }

        @Override
        public void encode(ByteBuf out) {
            int len = begin(out, SASL_FINAL);
            out.writeBytes(data);
            Frames.finish(out, len);
        }
    }

    /** A method pgrelay does not implement as a client of PostgreSQL (Kerberos V5, SCM, GSS, SSPI...). */
    record AuthenticationUnsupported(int code) implements Authentication {
        @Override
        public void encode(ByteBuf out) {
            Frames.finish(out, begin(out, code));
        }

        public String methodName() {
            switch (code) {
                case 2: return "KerberosV5";
                case 6: return "SCM credentials";
                case GSS: return "GSSAPI";
                case GSS_CONTINUE: return "GSSAPI continue";
                case SSPI: return "SSPI";
                default: return "method " + code;
            }
        }
    }
}
