"""The training loop of pytorch/examples' imagenet/main.py, on a small CNN and MNIST IDX files.

From the example: ``import torch.backends.cudnn as cudnn`` with
``cudnn.deterministic = True`` / ``cudnn.benchmark`` when seeded, device
selection through ``torch.accelerator`` (falling back to ``torch.cuda`` and
``torch.backends.mps``), ``AverageMeter`` / ``ProgressMeter``, top-1/top-5
``accuracy`` with ``topk`` / ``t()`` / ``eq`` / ``expand_as``, SGD with
momentum and weight decay, ``save_checkpoint`` (``torch.save`` of a dict with
the model, optimizer and scheduler states, ``shutil.copyfile`` to
model_best), and a final reload with ``torch.load(..., map_location=device)``.
The schedule is a linear warm-up then cosine warm restarts
(``SequentialLR(LinearLR, CosineAnnealingWarmRestarts)``, stepped per batch).
Added for comparison: --out, --init-seed (weights from NumPy).
"""
# ruff: noqa: UP004, UP008, UP031, UP032, B007, B028  (upstream's idioms, kept as written)
import argparse
import json
import os
import random
import shutil
import time
import warnings
from enum import Enum

import numpy as np
import torch
import torch.backends.cudnn as cudnn
import torch.nn as nn
import torch.optim
import torch.utils.data
import torchvision.datasets as datasets
import torchvision.transforms as transforms
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts, LinearLR, SequentialLR

parser = argparse.ArgumentParser(description='PyTorch ImageNet Training (small)')
parser.add_argument('data', metavar='DIR', help='path to dataset')
parser.add_argument('--epochs', default=2, type=int, metavar='N',
                    help='number of total epochs to run')
parser.add_argument('-b', '--batch-size', default=100, type=int, metavar='N',
                    help='mini-batch size (default: 100)')
parser.add_argument('--lr', '--learning-rate', default=0.05, type=float,
                    metavar='LR', help='initial learning rate', dest='lr')
parser.add_argument('--momentum', default=0.9, type=float, metavar='M',
                    help='momentum')
parser.add_argument('--wd', '--weight-decay', default=1e-4, type=float,
                    metavar='W', help='weight decay (default: 1e-4)',
                    dest='weight_decay')
parser.add_argument('-p', '--print-freq', default=5, type=int,
                    metavar='N', help='print frequency (default: 5)')
parser.add_argument('--seed', default=None, type=int,
                    help='seed for initializing training. ')
parser.add_argument('--out', required=True)
parser.add_argument('--init-seed', type=int, default=None)

best_acc1 = 0


class SmallNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, 16, kernel_size=3, stride=2, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d((4, 4)),
        )
        self.classifier = nn.Linear(16 * 4 * 4, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def main():
    args = parser.parse_args()

    if args.seed is not None:
        random.seed(args.seed)
        torch.manual_seed(args.seed)
        cudnn.deterministic = True
        cudnn.benchmark = False
        warnings.warn('You have chosen to seed training. '
                      'This will turn on the CUDNN deterministic setting, '
                      'which can slow down your training considerably! '
                      'You may see unexpected behavior when restarting '
                      'from checkpoints.')
    else:
        cudnn.benchmark = True

    if torch.accelerator.is_available():
        device = torch.accelerator.current_accelerator()
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    elif torch.backends.mps.is_available():
        device = torch.device("mps")
    else:
        device = torch.device("cpu")

    global best_acc1
    model = SmallNet().to(device)
    if args.init_seed is not None:
        rng = np.random.default_rng(args.init_seed)
        state = model.state_dict()
        for name, p in state.items():
            if name.endswith("weight") and p.dim() > 1:
                fan_in = int(np.prod(p.shape[1:]))
                state[name] = torch.from_numpy(
                    (rng.uniform(-1, 1, tuple(p.shape)) / np.sqrt(fan_in)).astype(np.float32))
            elif name.endswith("bias"):
                state[name] = torch.zeros(p.shape)
        model.load_state_dict(state)

    criterion = nn.CrossEntropyLoss().to(device)
    optimizer = torch.optim.SGD(model.parameters(), args.lr,
                                momentum=args.momentum,
                                weight_decay=args.weight_decay)

    normalize = transforms.Normalize(mean=[0.1307], std=[0.3081])
    train_dataset = datasets.MNIST(args.data, train=True, transform=transforms.Compose([
        transforms.ToTensor(), normalize]))
    val_dataset = datasets.MNIST(args.data, train=False, transform=transforms.Compose([
        transforms.ToTensor(), normalize]))
    train_loader = torch.utils.data.DataLoader(
        train_dataset, batch_size=args.batch_size, shuffle=args.init_seed is None)
    val_loader = torch.utils.data.DataLoader(
        val_dataset, batch_size=args.batch_size, shuffle=False)

    warmup = 5
    scheduler = SequentialLR(optimizer, [
        LinearLR(optimizer, start_factor=0.1, total_iters=warmup),
        CosineAnnealingWarmRestarts(optimizer, T_0=6, T_mult=2, eta_min=1e-3),
    ], milestones=[warmup])

    losses_per_step, lrs, history = [], [], []
    workdir = os.path.dirname(os.path.abspath(args.out))
    for epoch in range(args.epochs):
        # train for one epoch
        train(train_loader, model, criterion, optimizer, scheduler, epoch, device, args,
              losses_per_step, lrs)

        # evaluate on validation set
        acc1, acc5, val_loss = validate(val_loader, model, criterion, args)
        history.append((acc1, acc5, val_loss))

        # remember best acc@1 and save checkpoint
        is_best = acc1 > best_acc1
        best_acc1 = max(acc1, best_acc1)

        save_checkpoint({
            'epoch': epoch + 1,
            'arch': 'smallnet',
            'state_dict': model.state_dict(),
            'best_acc1': best_acc1,
            'optimizer': optimizer.state_dict(),
            'scheduler': scheduler.state_dict()
        }, is_best, os.path.join(workdir, torch.__name__ + '_checkpoint.pth.tar'))

    checkpoint = torch.load(os.path.join(workdir, torch.__name__ + '_model_best.pth.tar'),
                            map_location=device, weights_only=True)
    fresh = SmallNet().to(device)
    fresh.load_state_dict(checkpoint['state_dict'])
    reloaded_acc1 = validate(val_loader, fresh, criterion, args)[0]

    with open(args.out, "w") as f:
        json.dump({"framework": torch.__name__, "train_losses": losses_per_step, "lrs": lrs,
                   "val_acc1": [h[0] for h in history], "val_acc5": [h[1] for h in history],
                   "val_loss": [h[2] for h in history], "best_acc1": float(best_acc1),
                   "checkpoint_epoch": checkpoint['epoch'],
                   "reloaded_acc1": float(reloaded_acc1),
                   "cudnn": [cudnn.deterministic, cudnn.benchmark]}, f)


def train(train_loader, model, criterion, optimizer, scheduler, epoch, device, args,
          losses_per_step, lrs):
    batch_time = AverageMeter('Time', ':6.3f')
    data_time = AverageMeter('Data', ':6.3f')
    losses = AverageMeter('Loss', ':.4e')
    top1 = AverageMeter('Acc@1', ':6.2f')
    top5 = AverageMeter('Acc@5', ':6.2f')
    progress = ProgressMeter(
        len(train_loader),
        [batch_time, data_time, losses, top1, top5],
        prefix="Epoch: [{}]".format(epoch))

    # switch to train mode
    model.train()

    end = time.time()
    for i, (images, target) in enumerate(train_loader):
        # measure data loading time
        data_time.update(time.time() - end)

        # move data to the same device as model
        images = images.to(device, non_blocking=True)
        target = target.to(device, non_blocking=True)

        # compute output
        output = model(images)
        loss = criterion(output, target)

        # measure accuracy and record loss
        acc1, acc5 = accuracy(output, target, topk=(1, 5))
        losses.update(loss.item(), images.size(0))
        top1.update(acc1[0], images.size(0))
        top5.update(acc5[0], images.size(0))

        # compute gradient and do SGD step
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses_per_step.append(loss.item())
        lrs.append(optimizer.param_groups[0]['lr'])

        # measure elapsed time
        batch_time.update(time.time() - end)
        end = time.time()

        if i % args.print_freq == 0:
            progress.display(i + 1)


def validate(val_loader, model, criterion, args):
    losses = AverageMeter('Loss', ':.4e', Summary.NONE)
    top1 = AverageMeter('Acc@1', ':6.2f', Summary.AVERAGE)
    top5 = AverageMeter('Acc@5', ':6.2f', Summary.AVERAGE)
    progress = ProgressMeter(len(val_loader), [losses, top1, top5], prefix='Test: ')

    # switch to evaluate mode
    model.eval()

    with torch.no_grad():
        for i, (images, target) in enumerate(val_loader):
            output = model(images)
            loss = criterion(output, target)
            acc1, acc5 = accuracy(output, target, topk=(1, 5))
            losses.update(loss.item(), images.size(0))
            top1.update(acc1[0], images.size(0))
            top5.update(acc5[0], images.size(0))
            if i % args.print_freq == 0:
                progress.display(i + 1)

    progress.display_summary()
    return float(top1.avg), float(top5.avg), float(losses.avg)


def save_checkpoint(state, is_best, filename='checkpoint.pth.tar'):
    torch.save(state, filename)
    if is_best:
        shutil.copyfile(filename, filename.replace('checkpoint', 'model_best'))


class Summary(Enum):
    NONE = 0
    AVERAGE = 1
    SUM = 2
    COUNT = 3


class AverageMeter(object):
    """Computes and stores the average and current value"""
    def __init__(self, name, fmt=':f', summary_type=Summary.AVERAGE):
        self.name = name
        self.fmt = fmt
        self.summary_type = summary_type
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def __str__(self):
        fmtstr = '{name} {val' + self.fmt + '} ({avg' + self.fmt + '})'
        return fmtstr.format(**self.__dict__)

    def summary(self):
        fmtstr = ''
        if self.summary_type is Summary.NONE:
            fmtstr = ''
        elif self.summary_type is Summary.AVERAGE:
            fmtstr = '{name} {avg:.3f}'
        elif self.summary_type is Summary.SUM:
            fmtstr = '{name} {sum:.3f}'
        elif self.summary_type is Summary.COUNT:
            fmtstr = '{name} {count:.3f}'
        else:
            raise ValueError('invalid summary type %r' % self.summary_type)

        return fmtstr.format(**self.__dict__)


class ProgressMeter(object):
    def __init__(self, num_batches, meters, prefix=""):
        self.batch_fmtstr = self._get_batch_fmtstr(num_batches)
        self.meters = meters
        self.prefix = prefix

    def display(self, batch):
        entries = [self.prefix + self.batch_fmtstr.format(batch)]
        entries += [str(meter) for meter in self.meters]
        print('\t'.join(entries))

    def display_summary(self):
        entries = [" *"]
        entries += [meter.summary() for meter in self.meters]
        print(' '.join(entries))

    def _get_batch_fmtstr(self, num_batches):
        num_digits = len(str(num_batches // 1))
        fmt = '{:' + str(num_digits) + 'd}'
        return '[' + fmt + '/' + fmt.format(num_batches) + ']'


def accuracy(output, target, topk=(1,)):
    """Computes the accuracy over the k top predictions for the specified values of k"""
    with torch.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)

        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))

        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


if __name__ == '__main__':
    main()
