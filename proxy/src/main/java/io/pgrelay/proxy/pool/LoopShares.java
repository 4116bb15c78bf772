package io.pgrelay.proxy.pool;

import io.netty.channel.EventLoop;

import java.util.Arrays;

/**
 * How many of one pool's connections (open or opening) each event loop runs, over the loops its clients are on, so
 * new connections spread evenly: a client takes a connection of its own loop when there is one, and an uneven
 * spread leaves some clients only connections of another loop (every frame then crosses threads). Not thread-safe:
 * the pool calls it under its lock.
 */
final class LoopShares {
    private EventLoop[] loops = new EventLoop[0];
    private int[] connections = new int[0];

    /** Makes {@code loop} one of the loops new connections may go to (a client on it asked for one). */
    void know(EventLoop loop) {
        index(loop);
    }

    /** {@code wanted} unless another known loop runs fewer of the pool's connections: then that one. */
    EventLoop leastLoaded(EventLoop wanted) {
        int best = index(wanted);
        for (int i = 0; i < loops.length; i++) {
            if (connections[i] < connections[best]) {
                best = i;
            }
        }
        return loops[best];
    }

    void opened(EventLoop loop) {
        int i = index(loop); // first: it may grow the arrays
        connections[i]++;
    }

    void closed(EventLoop loop) {
        int i = index(loop);
        connections[i]--;
    }

    int connections(EventLoop loop) {
        int i = index(loop);
        return connections[i];
    }

    private int index(EventLoop loop) {
        for (int i = 0; i < loops.length; i++) {
            if (loops[i] == loop) {
                return i;
            }
        }
        loops = Arrays.copyOf(loops, loops.length + 1);
        connections = Arrays.copyOf(connections, connections.length + 1);
        loops[loops.length - 1] = loop;
        return loops.length - 1;
    }
}
