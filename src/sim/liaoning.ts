/** Liaoning's 14 cities with their districts and counties; weights are approximate populations (millions). */
export interface CityDef {
  name: string;
  nameEn: string;
  weight: number;
  counties: [string, string][];
}

export const LIAONING: CityDef[] = [
  { name: '沈阳', nameEn: 'Shenyang', weight: 9.1, counties: [['和平区', 'Heping'], ['沈河区', 'Shenhe'], ['大东区', 'Dadong'], ['皇姑区', 'Huanggu'], ['铁西区', 'Tiexi'], ['苏家屯区', 'Sujiatun'], ['浑南区', 'Hunnan'], ['沈北新区', 'Shenbei'], ['于洪区', 'Yuhong'], ['辽中区', 'Liaozhong'], ['新民市', 'Xinmin'], ['康平县', 'Kangping'], ['法库县', 'Faku']] },
  { name: '大连', nameEn: 'Dalian', weight: 7.5, counties: [['中山区', 'Zhongshan'], ['西岗区', 'Xigang'], ['沙河口区', 'Shahekou'], ['甘井子区', 'Ganjingzi'], ['旅顺口区', 'Lushunkou'], ['金州区', 'Jinzhou'], ['普兰店区', 'Pulandian'], ['瓦房店市', 'Wafangdian'], ['庄河市', 'Zhuanghe'], ['长海县', 'Changhai']] },
  { name: '鞍山', nameEn: 'Anshan', weight: 3.3, counties: [['铁东区', 'Tiedong'], ['铁西区', 'Tiexi'], ['立山区', 'Lishan'], ['千山区', 'Qianshan'], ['海城市', 'Haicheng'], ['台安县', 'Taian'], ['岫岩满族自治县', 'Xiuyan']] },
  { name: '抚顺', nameEn: 'Fushun', weight: 1.85, counties: [['新抚区', 'Xinfu'], ['东洲区', 'Dongzhou'], ['望花区', 'Wanghua'], ['顺城区', 'Shuncheng'], ['抚顺县', 'Fushun County'], ['新宾满族自治县', 'Xinbin'], ['清原满族自治县', 'Qingyuan']] },
  { name: '本溪', nameEn: 'Benxi', weight: 1.3, counties: [['平山区', 'Pingshan'], ['溪湖区', 'Xihu'], ['明山区', 'Mingshan'], ['南芬区', 'Nanfen'], ['本溪满族自治县', 'Benxi County'], ['桓仁满族自治县', 'Huanren']] },
  { name: '丹东', nameEn: 'Dandong', weight: 2.2, counties: [['元宝区', 'Yuanbao'], ['振兴区', 'Zhenxing'], ['振安区', 'Zhenan'], ['东港市', 'Donggang'], ['凤城市', 'Fengcheng'], ['宽甸满族自治县', 'Kuandian']] },
  { name: '锦州', nameEn: 'Jinzhou', weight: 2.7, counties: [['古塔区', 'Guta'], ['凌河区', 'Linghe'], ['太和区', 'Taihe'], ['凌海市', 'Linghai'], ['北镇市', 'Beizhen'], ['黑山县', 'Heishan'], ['义县', 'Yixian']] },
  { name: '营口', nameEn: 'Yingkou', weight: 2.3, counties: [['站前区', 'Zhanqian'], ['西市区', 'Xishi'], ['鲅鱼圈区', 'Bayuquan'], ['老边区', 'Laobian'], ['盖州市', 'Gaizhou'], ['大石桥市', 'Dashiqiao']] },
  { name: '阜新', nameEn: 'Fuxin', weight: 1.6, counties: [['海州区', 'Haizhou'], ['新邱区', 'Xinqiu'], ['太平区', 'Taiping'], ['清河门区', 'Qinghemen'], ['细河区', 'Xihe'], ['阜新蒙古族自治县', 'Fuxin County'], ['彰武县', 'Zhangwu']] },
  { name: '辽阳', nameEn: 'Liaoyang', weight: 1.6, counties: [['白塔区', 'Baita'], ['文圣区', 'Wensheng'], ['宏伟区', 'Hongwei'], ['弓长岭区', 'Gongchangling'], ['太子河区', 'Taizihe'], ['灯塔市', 'Dengta'], ['辽阳县', 'Liaoyang County']] },
  { name: '盘锦', nameEn: 'Panjin', weight: 1.4, counties: [['双台子区', 'Shuangtaizi'], ['兴隆台区', 'Xinglongtai'], ['大洼区', 'Dawa'], ['盘山县', 'Panshan']] },
  { name: '铁岭', nameEn: 'Tieling', weight: 2.4, counties: [['银州区', 'Yinzhou'], ['清河区', 'Qinghe'], ['调兵山市', 'Diaobingshan'], ['开原市', 'Kaiyuan'], ['铁岭县', 'Tieling County'], ['西丰县', 'Xifeng'], ['昌图县', 'Changtu']] },
  { name: '朝阳', nameEn: 'Chaoyang', weight: 2.9, counties: [['双塔区', 'Shuangta'], ['龙城区', 'Longcheng'], ['北票市', 'Beipiao'], ['凌源市', 'Lingyuan'], ['朝阳县', 'Chaoyang County'], ['建平县', 'Jianping'], ['喀喇沁左翼蒙古族自治县', 'Kazuo']] },
  { name: '葫芦岛', nameEn: 'Huludao', weight: 2.4, counties: [['连山区', 'Lianshan'], ['龙港区', 'Longgang'], ['南票区', 'Nanpiao'], ['兴城市', 'Xingcheng'], ['绥中县', 'Suizhong'], ['建昌县', 'Jianchang']] },
];

export const SURNAMES = '王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文'.split('');
export const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国志红玉梅鹏飞宇浩然欣怡子轩博文思雨晨阳海波丹凤春雪岩松'.split('');
export const COMMUNITIES = ['幸福', '阳光', '和谐', '锦绣', '翠湖', '金桥', '光明', '新华', '东方', '滨河', '丽景', '康乐', '惠民', '安居', '紫荆', '长青'];
export const BUSINESSES = ['商贸有限公司', '餐饮店', '超市', '机械厂', '食品加工厂', '物流有限公司', '建材商店', '宾馆', '汽修厂', '医药连锁店'];
