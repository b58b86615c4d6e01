// Target group ARNs and how DescribeTargetHealth entries map to membership and health.
import type { TargetHealthDescription, TargetHealthReasonEnum, TargetHealthStateEnum } from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { createTargetGroup, membershipOf, targetGroupName } from '../../../src/lb/target-group.js';

const arn = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/myapp-tg/6d0ecf831eec9f09';

describe('targetGroupName', () => {
  it('is the name inside the ARN, in any partition', () => {
    expect(targetGroupName(arn)).toBe('myapp-tg');
    expect(targetGroupName('arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:targetgroup/cn-tg/73e2d6bc24d8a067')).toBe('cn-tg');
  });

  it('refuses anything else with a UsageError naming the key, the value and the expected form', () => {
    for (const bad of ['myapp-tg', 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188']) {
      expect(() => targetGroupName(bad)).toThrow(
        new UsageError(
          `lb.target_groups: "${bad}" is not a target group ARN; expected arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`,
        ),
      );
    }
    expect(() => createTargetGroup('myapp-tg', 'eu-west-1')).toThrow(UsageError);
  });

  it('describes the target group by its name', () => {
    expect(createTargetGroup(arn, 'eu-west-1').description).toBe('target group myapp-tg');
  });
});

const entry = (state: string, reason?: string, Description?: string, Port = 80): TargetHealthDescription => ({
  Target: { Id: 'i-0abc', Port },
  TargetHealth: { State: state as TargetHealthStateEnum, Reason: reason as TargetHealthReasonEnum | undefined, Description },
});
const notRegistered = entry('unused', 'Target.NotRegistered', 'Target is not registered to the target group');

describe('membershipOf', () => {
  it('is absent with no entry, or only Target.NotRegistered ones', () => {
    expect(membershipOf([])).toEqual({ kind: 'absent', healthy: false, state: 'not reported by DescribeTargetHealth' });
    expect(membershipOf([notRegistered])).toEqual({
      kind: 'absent',
      healthy: false,
      state: 'unused (Target.NotRegistered: Target is not registered to the target group)',
    });
  });

  it('is registered and healthy when healthy', () => {
    expect(membershipOf([entry('healthy')])).toEqual({ kind: 'registered', healthy: true, state: 'healthy' });
  });

  it('is registered but not healthy while initial, unhealthy or unused for another reason', () => {
    for (const seen of [
      entry('initial', 'Elb.RegistrationInProgress', 'Target registration is in progress'),
      entry('unhealthy', 'Target.Timeout', 'Request timed out'),
      entry('unused', 'Target.NotInUse', 'Target group is not configured to receive traffic from the load balancer'),
    ]) {
      expect(membershipOf([seen])).toMatchObject({ kind: 'registered', healthy: false });
    }
  });

  it('is draining while every entry of the target drains', () => {
    expect(membershipOf([entry('draining', 'Target.DeregistrationInProgress', 'Target deregistration is in progress')])).toEqual({
      kind: 'draining',
      healthy: false,
      state: 'draining (Target.DeregistrationInProgress: Target deregistration is in progress)',
    });
  });

  it('counts the target registered and healthy when one of its ports is', () => {
    const ports = [entry('draining', 'Target.DeregistrationInProgress', undefined, 8080), entry('healthy', undefined, undefined, 80)];
    expect(membershipOf(ports)).toMatchObject({ kind: 'registered', healthy: true });
  });
});
