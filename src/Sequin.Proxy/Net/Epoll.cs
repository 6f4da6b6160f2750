using System.Runtime.InteropServices;

namespace Sequin.Proxy.Net;

/// <summary>
/// The libc calls the proxy's socket engine makes (Linux; man 7 epoll, recv(2), send(2)). File descriptors of
/// sockets are passed as <see cref="SafeHandle"/> so that a concurrent close waits for a call in progress.
/// </summary>
internal static unsafe partial class Epoll
{
    public const int EpollCtlAdd = 1;

    public const uint EpollIn = 0x001;
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollHup = 0x010;
    public const uint EpollRdHup = 0x2000;
    public const uint EpollEt = 1u << 31;

    public const int EpollCloexec = 0x80000;

    /// <summary>MSG_NOSIGNAL: a send to a closed peer fails with EPIPE instead of raising SIGPIPE.</summary>
    public const int MsgNoSignal = 0x4000;

    public const int EIntr = 4;
    public const int EAgain = 11;

    /// <summary>
    /// Size of <c>struct epoll_event</c> and the offset of its <c>data</c> field: the struct is packed (12 bytes) on
    /// x86-64 only, 16 bytes with padding elsewhere (sys/epoll.h, <c>__EPOLL_PACKED</c>).
    /// </summary>
    public static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    public static readonly int EventDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int Create(int flags);

    /// <summary>A new epoll instance (close-on-exec).</summary>
    /// <exception cref="System.Net.Sockets.SocketException">epoll_create1 failed.</exception>
    public static EpollHandle Create()
    {
        var fd = Create(EpollCloexec);
        return fd >= 0 ? new EpollHandle(fd) : throw new System.Net.Sockets.SocketException(Marshal.GetLastPInvokeError());
    }

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int Control(SafeHandle epfd, int op, SafeHandle fd, byte* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int Wait(SafeHandle epfd, byte* events, int maxEvents, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static partial nint Receive(SafeHandle fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(SafeHandle fd, byte* buffer, nint length, int flags);

    /// <summary>Adds <paramref name="fd"/> to <paramref name="epfd"/> for input, output and peer hang-up, edge-triggered.</summary>
    public static int Add(SafeHandle epfd, SafeHandle fd, ulong data)
    {
        var ev = stackalloc byte[16];
        *(uint*)ev = EpollIn | EpollOut | EpollRdHup | EpollEt;
        *(ulong*)(ev + EventDataOffset) = data;
        return Control(epfd, EpollCtlAdd, fd, ev);
    }
}

/// <summary>An epoll instance's descriptor: closed when disposed and no call (epoll_wait, epoll_ctl) still uses it.</summary>
internal sealed class EpollHandle : SafeHandle
{
    public EpollHandle(int fd)
        : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle < 0;

    protected override bool ReleaseHandle() => Epoll.Close((int)handle) == 0;
}
