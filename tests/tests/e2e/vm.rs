//! Tests that boot a small VM (Debian's cloud kernel under qemu TCG, see
//! `cnm_tests::vm`) because this host's kernel cannot show the behaviour:
//! here, container limits on a pure cgroup v2 host (this host is hybrid,
//! with memory, cpu and pids on v1).

use std::time::Duration;

use cnm_tests::vm::{cnm_vm, Vm, VmKernel, VmOutcome};
use cnm_tests::{case, Case, Need};

/// qemu killed after this; the limits test takes about 20 s here.
const VM_TIMEOUT: Duration = Duration::from_secs(120);

pub fn cases() -> Vec<Case> {
    vec![
        case("harness_reports_script_and_status", &[Need::Vm], harness),
        case(
            "cgroup_v2_limits",
            &[Need::Vm, Need::Tool("nft")],
            cgroup_v2_limits,
        ),
    ]
}

/// The harness boots the fetched kernel, runs the script under a pure v2
/// cgroup mount with the controllers enabled, and hands back its output
/// and exit status.
fn harness() {
    let script = "uname -r\n\
                  echo controllers=$(cat /sys/fs/cgroup/cgroup.subtree_control)\n\
                  echo v1_mounts=$(grep -c ' - cgroup ' /proc/self/mountinfo)\n\
                  echo to stderr >&2\n\
                  exit 7\n";
    let out = Vm::new(script).timeout(VM_TIMEOUT).run();
    eprintln!("vm: booted, ran and powered off in {:.1?}", out.elapsed);
    assert_eq!(out.status, Some(7), "{out}");
    let kernel = VmKernel::find().expect("kernel");
    assert!(out.output.starts_with(kernel.release()), "{out}");
    assert_eq!(out.value("controllers"), Some("cpu memory pids"), "{out}");
    assert_eq!(out.value("v1_mounts"), Some("0"), "{out}");
    assert!(out.output.contains("to stderr\n"), "{out}");
}

/// The script: one long-running container with every limit (values read
/// back from cgroupfs), then the OOM, tmpfs and fork-bomb containers of the
/// runtime's v1 limit tests, each removed with `--rm`. Facts come back as
/// KEY=VALUE lines; the test asserts on them.
const LIMITS_SCRIPT: &str = r#"
id=$(cnm run -d --network none --name capped --memory 64m --cpus 0.5 --pids-limit 50 \
	/rootfs sh -c 'while :; do :; done') || exit 1
dir=/sys/fs/cgroup/cnm/$id
echo "id=$id"
echo "v1_mounts=$(grep -c ' - cgroup ' /proc/self/mountinfo)"
for file in memory.max memory.swap.max cpu.max pids.max; do
	echo "$file=$(cat $dir/$file 2>&1)"
done
echo "cnm.subtree_control=$(cat /sys/fs/cgroup/cnm/cgroup.subtree_control)"
pid=$(head -n 1 $dir/cgroup.procs)
echo "init_cgroup=$(cat /proc/$pid/cgroup)"
echo "exec_cgroup=$(cnm exec capped cat /proc/self/cgroup)"
# A busy loop at 0.5 CPU is throttled within a second.
sleep 1.5
echo "nr_throttled=$(sed -n 's/^nr_throttled //p' $dir/cpu.stat)"
cnm rm -f capped >/dev/null
echo "capped_cgroup_after_rm=$(test -e $dir && echo present || echo gone)"

cnm run --rm --network none --memory 32m /rootfs sh -c 'x=a; while true; do x=$x$x; done' >/dev/null 2>&1
echo "oom_exit=$?"
cnm run --rm --network none --memory 32m /rootfs dd if=/dev/zero of=/dev/shm/x bs=1M count=60 >/dev/null 2>&1
echo "tmpfs_oom_exit=$?"

# The bomb runs in a subshell: busybox sh gives up when fork fails, and
# PID 1 (the outer shell) must outlive it.
cnm run --rm --network none --pids-limit 10 /rootfs \
	sh -c '(for i in $(seq 1 30); do sleep 5 & done); echo survived' >/tmp/bomb.out 2>/tmp/bomb.err
echo "bomb_exit=$?"
echo "bomb_stdout=$(cat /tmp/bomb.out)"
echo "bomb_cant_fork=$(grep -c "can't fork" /tmp/bomb.err)"

echo "cgroups_left=$(find /sys/fs/cgroup/cnm -mindepth 1 -type d | wc -l)"
"#;

/// Container limits on a pure cgroup v2 host, end to end: cnmd and
/// `cnm run` inside the VM.
fn cgroup_v2_limits() {
    let out = cnm_vm(LIMITS_SCRIPT).timeout(VM_TIMEOUT).run();
    eprintln!("vm: cgroup v2 limits test took {:.1?}", out.elapsed);
    assert!(out.success(), "{out}");
    let id = fact(&out, "id");
    // Detection: no v1 hierarchy, so the container lives in the unified one.
    assert_eq!(fact(&out, "v1_mounts"), "0");
    assert_eq!(fact(&out, "init_cgroup"), format!("0::/cnm/{id}"), "{out}");
    // `cnm exec` joins the container's cgroup and cgroup namespace, whose
    // root that cgroup is (a process outside it would see `/../…`).
    assert_eq!(fact(&out, "exec_cgroup"), "0::/", "{out}");
    let enabled: Vec<&str> = fact(&out, "cnm.subtree_control").split(' ').collect();
    assert_eq!(enabled, ["cpu", "memory", "pids"], "{out}");
    // Limits: --memory 64m (no swap), --cpus 0.5, --pids-limit 50.
    assert_eq!(fact(&out, "memory.max"), "67108864", "{out}");
    let swap = fact(&out, "memory.swap.max");
    assert!(swap == "0" || swap.contains("No such file"), "{out}");
    assert_eq!(fact(&out, "cpu.max"), "50000 100000", "{out}");
    assert_eq!(fact(&out, "pids.max"), "50", "{out}");
    let throttled: u64 = fact(&out, "nr_throttled").parse().unwrap_or(0);
    assert!(throttled > 0, "busy loop never throttled at 0.5 CPU\n{out}");
    // Enforcement: OOM kill (137) from the heap and from tmpfs pages, and
    // fork failing at pids.max while the container survives.
    assert_eq!(fact(&out, "oom_exit"), "137", "{out}");
    assert_eq!(fact(&out, "tmpfs_oom_exit"), "137", "{out}");
    assert_eq!(fact(&out, "bomb_exit"), "0", "{out}");
    assert_eq!(fact(&out, "bomb_stdout"), "survived", "{out}");
    assert_ne!(fact(&out, "bomb_cant_fork"), "0", "{out}");
    // Removal: the cgroup goes with the container.
    assert_eq!(fact(&out, "capped_cgroup_after_rm"), "gone", "{out}");
    assert_eq!(fact(&out, "cgroups_left"), "0", "{out}");
}

fn fact<'a>(out: &'a VmOutcome, key: &str) -> &'a str {
    out.value(key)
        .unwrap_or_else(|| panic!("the VM script printed no `{key}=`\n{out}"))
}
