#ifndef MOSTRADOR_CRABBITMQ_SHIM_H
#define MOSTRADOR_CRABBITMQ_SHIM_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>

/// `amqp_login_with_properties` is variadic (SASL arguments), which Swift cannot call: PLAIN login here.
static inline amqp_rpc_reply_t mostrador_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                                          int channel_max, int frame_max, int heartbeat,
                                                          const amqp_table_t *properties, const char *user,
                                                          const char *password) {
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat, properties,
                                      AMQP_SASL_METHOD_PLAIN, user, password);
}

/// Method payloads arrive as `void *`; these casts keep pointer work out of Swift.
static inline amqp_basic_ack_t *mostrador_method_basic_ack(amqp_method_t *method) {
    return (amqp_basic_ack_t *)method->decoded;
}
static inline amqp_basic_nack_t *mostrador_method_basic_nack(amqp_method_t *method) {
    return (amqp_basic_nack_t *)method->decoded;
}
static inline amqp_basic_deliver_t *mostrador_method_basic_deliver(amqp_method_t *method) {
    return (amqp_basic_deliver_t *)method->decoded;
}
static inline amqp_basic_return_t *mostrador_method_basic_return(amqp_method_t *method) {
    return (amqp_basic_return_t *)method->decoded;
}
static inline amqp_channel_close_t *mostrador_method_channel_close(amqp_method_t *method) {
    return (amqp_channel_close_t *)method->decoded;
}
static inline amqp_connection_close_t *mostrador_method_connection_close(amqp_method_t *method) {
    return (amqp_connection_close_t *)method->decoded;
}
static inline amqp_basic_cancel_t *mostrador_method_basic_cancel(amqp_method_t *method) {
    return (amqp_basic_cancel_t *)method->decoded;
}
static inline amqp_queue_declare_ok_t *mostrador_queue_declare_ok(amqp_rpc_reply_t *reply) {
    return (amqp_queue_declare_ok_t *)reply->reply.decoded;
}
static inline amqp_connection_close_t *mostrador_reply_connection_close(amqp_rpc_reply_t *reply) {
    return (amqp_connection_close_t *)reply->reply.decoded;
}
static inline amqp_channel_close_t *mostrador_reply_channel_close(amqp_rpc_reply_t *reply) {
    return (amqp_channel_close_t *)reply->reply.decoded;
}
static inline amqp_basic_get_ok_t *mostrador_reply_basic_get_ok(amqp_rpc_reply_t *reply) {
    return (amqp_basic_get_ok_t *)reply->reply.decoded;
}


/// Method and frame numbers are macros with casts, which Swift does not import.
static const amqp_method_number_t MOSTRADOR_BASIC_ACK = AMQP_BASIC_ACK_METHOD;
static const amqp_method_number_t MOSTRADOR_BASIC_NACK = AMQP_BASIC_NACK_METHOD;
static const amqp_method_number_t MOSTRADOR_BASIC_DELIVER = AMQP_BASIC_DELIVER_METHOD;
static const amqp_method_number_t MOSTRADOR_BASIC_RETURN = AMQP_BASIC_RETURN_METHOD;
static const amqp_method_number_t MOSTRADOR_BASIC_CANCEL = AMQP_BASIC_CANCEL_METHOD;
static const amqp_method_number_t MOSTRADOR_BASIC_GET_OK = AMQP_BASIC_GET_OK_METHOD;
static const amqp_method_number_t MOSTRADOR_BASIC_GET_EMPTY = AMQP_BASIC_GET_EMPTY_METHOD;
static const amqp_method_number_t MOSTRADOR_CHANNEL_CLOSE = AMQP_CHANNEL_CLOSE_METHOD;
static const amqp_method_number_t MOSTRADOR_CHANNEL_CLOSE_OK = AMQP_CHANNEL_CLOSE_OK_METHOD;
static const amqp_method_number_t MOSTRADOR_CONNECTION_CLOSE = AMQP_CONNECTION_CLOSE_METHOD;
static const amqp_method_number_t MOSTRADOR_CONNECTION_CLOSE_OK = AMQP_CONNECTION_CLOSE_OK_METHOD;
static const amqp_method_number_t MOSTRADOR_CONNECTION_BLOCKED = AMQP_CONNECTION_BLOCKED_METHOD;
static const amqp_method_number_t MOSTRADOR_CONNECTION_UNBLOCKED = AMQP_CONNECTION_UNBLOCKED_METHOD;
static const uint8_t MOSTRADOR_FRAME_METHOD = AMQP_FRAME_METHOD;
static const uint8_t MOSTRADOR_FRAME_HEARTBEAT = AMQP_FRAME_HEARTBEAT;
static const int MOSTRADOR_REPLY_SUCCESS = AMQP_REPLY_SUCCESS;

/// Sends a heartbeat frame (rabbitmq-c only sends them from inside its blocking waits).
static inline int mostrador_send_heartbeat(amqp_connection_state_t state) {
    amqp_frame_t frame;
    frame.frame_type = AMQP_FRAME_HEARTBEAT;
    frame.channel = 0;
    return amqp_send_frame(state, &frame);
}

/// Answers a broker-initiated close so the broker logs a clean shutdown.
static inline int mostrador_send_connection_close_ok(amqp_connection_state_t state) {
    amqp_connection_close_ok_t ok;
    return amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
}
static inline int mostrador_send_channel_close_ok(amqp_connection_state_t state, amqp_channel_t channel) {
    amqp_channel_close_ok_t ok;
    return amqp_send_method(state, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
}

/// Keeps a stuck socket from wedging the connection's thread: TCP keepalive finds a dead peer, and a write the
/// broker stopped reading (a blocked connection, a hung host) fails after `send_timeout_ms` instead of waiting
/// forever. rabbitmq-c's sockets are non-blocking and wait in `poll` without a deadline, so `SO_SNDTIMEO` alone
/// would not do: `TCP_USER_TIMEOUT` (also applied to zero-window probes) makes the kernel fail the socket.
/// Returns 0, or the `errno` of the first option refused.
static inline int mostrador_socket_tune(int fd, int send_timeout_ms, int keepalive_idle_s, int keepalive_interval_s,
                                        int keepalive_count) {
    int on = 1;
    struct timeval send_timeout;
    send_timeout.tv_sec = send_timeout_ms / 1000;
    send_timeout.tv_usec = (send_timeout_ms % 1000) * 1000;
    unsigned int user_timeout = (unsigned int)send_timeout_ms;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &keepalive_idle_s, sizeof keepalive_idle_s) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &keepalive_interval_s, sizeof keepalive_interval_s) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &keepalive_count, sizeof keepalive_count) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout) != 0) {
        return errno;
    }
    return 0;
}

/// Whether the socket is in non-blocking mode (what rabbitmq-c leaves it in).
static inline int mostrador_socket_is_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && (flags & O_NONBLOCK) != 0;
}

/// `struct timeval` of a number of microseconds (a zero value polls without blocking).
static inline struct timeval mostrador_timeval(long microseconds) {
    struct timeval tv;
    tv.tv_sec = microseconds / 1000000;
    tv.tv_usec = microseconds % 1000000;
    return tv;
}

#endif
