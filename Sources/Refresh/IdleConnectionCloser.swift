package import NIOCore

/// Closes a connection when the `IdleStateHandler` in front of it reports it idle: a client that opened a socket and
/// sent no complete request would otherwise hold one of the few connections the health and webhook servers allow.
/// One handler for both servers, placed right behind their `IdleStateHandler`.
package final class IdleConnectionCloser: ChannelInboundHandler {
    package typealias InboundIn = NIOAny

    package init() {}

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
